#include "daemon/op_registry.hpp"

#include <stdexcept>

namespace durationd::app {

void OpRegistry::add(std::string name, OpSpec spec) {
  spec.index = names_.size();
  if (!ops_.emplace(name, std::move(spec)).second) throw std::logic_error("op registered twice: " + name);
  names_.push_back(std::move(name));
}

const OpSpec* OpRegistry::find(std::string_view name) const {
  const auto it = ops_.find(name);
  return it == ops_.end() ? nullptr : &it->second;
}

}  // namespace durationd::app
