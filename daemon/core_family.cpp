#include "daemon/core_family.hpp"

#include "durationd/version.hpp"
#include "ipc/msgpack_writer.hpp"

namespace durationd::app {
namespace asio = boost::asio;

void register_core_family(OpRegistry& registry, std::uint32_t max_frame) {
  registry.add("ping", {[](OpCall& call) -> asio::awaitable<void> {
                 ipc::pack_str(call.reply.result(), "pong");
                 co_return;
               }});
  registry.add("hello", {[max_frame](OpCall& call) -> asio::awaitable<void> {
                 auto& w = call.reply.result();
                 w.pack_map(6);
                 ipc::pack_str(w, "server");
                 ipc::pack_str(w, "durationd");
                 ipc::pack_str(w, "version");
                 ipc::pack_str(w, kVersion);
                 ipc::pack_str(w, "protocol");
                 w.pack_int(kProtocolVersion);
                 ipc::pack_str(w, "max_frame");
                 w.pack_uint32(max_frame);
                 ipc::pack_str(w, "uid");
                 w.pack_uint32(call.peer.uid);
                 ipc::pack_str(w, "admin");
                 call.peer_is_admin ? w.pack_true() : w.pack_false();
                 co_return;
               }});
}

}  // namespace durationd::app
