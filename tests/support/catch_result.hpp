// Lets Catch print a boost::system::result in a failed assertion: the error's message,
// never the value (values may be secrets, such as derived keys).
#pragma once

#include <string>

#include <boost/system/result.hpp>
#include <catch2/catch.hpp>

namespace Catch {

template <class T, class E>
struct StringMaker<boost::system::result<T, E>> {
  static std::string convert(const boost::system::result<T, E>& r) {
    if (r.has_value()) return "(a value)";
    if constexpr (requires { r.error().message; }) {
      return "(error: " + std::string(r.error().message) + ")";
    } else {
      return "(an error)";
    }
  }
};

}  // namespace Catch
