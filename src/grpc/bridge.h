// The bridge between gRPC's threads and stratus's event loops.
//
//   gRPC thread (grpc++ callback API)          event loop (asio io_context)
//   ---------------------------------          ------------------------------------------
//   CloudTasks::CreateTask(ctx, req, resp)
//     check the call's token (api/access.h)
//     co_spawn(loops.Next(), handler) ------>  handler coroutine: req -> model (convert.h),
//     return ctx->DefaultReactor()             co_await TasksService (store reads on the
//       (the gRPC thread is free again)        blocking pool, writes resume after commit),
//                                              model -> *resp
//                                              completion: reactor->Finish(status) ---> gRPC
//                                              sends the reply from its own threads
//
// A gRPC thread never waits for the service: it only checks credentials and posts. The
// request and response messages belong to the call and stay valid until Finish; the handler
// is the only one that touches them after the post. Finish is called exactly once per call,
// by the completion handler, also when the handler threw (INTERNAL, logged), so no call is
// left open and shutdown's drain (grpc::Server::Shutdown waits for every started call to
// finish) always ends. The loops must keep running until GrpcServer::Stop returns.
#pragma once

#include <exception>
#include <utility>

#include <grpcpp/grpcpp.h>

#include "common/asio.h"
#include "common/log.h"
#include "stratus/status.h"

namespace stratus::grpcapi {

inline grpc::Status ToGrpc(const Status& st) {
  if (st.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(st.code()), st.message());
}

// Runs `work` (an asio::awaitable<Status>) on `loop` and finishes the call with its result.
// `done` (void(const Status&)) runs on the loop just before Finish (audit, metrics).
template <typename Done>
void RunOnLoop(asio::io_context& loop, grpc::ServerUnaryReactor* reactor, asio::awaitable<Status> work, Done done) {
  asio::co_spawn(loop, std::move(work),
                 [reactor, done = std::move(done)](const std::exception_ptr& e, Status st) mutable {
                   if (e) {
                     std::string what = "unknown exception";
                     try {
                       std::rethrow_exception(e);
                     } catch (const std::exception& ex) {
                       what = ex.what();
                     } catch (...) {
                     }
                     LogJson({{"event", "grpc_handler_exception"}, {"error", what}});
                     st = Status(Code::kInternal, "Internal error.");
                   }
                   done(st);
                   reactor->Finish(ToGrpc(st));
                 });
}

}  // namespace stratus::grpcapi
