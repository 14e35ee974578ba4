// The one include for Boost.Asio/Beast. Boost 1.74's awaitable.hpp uses std::exchange
// without including <utility>; including it first keeps every translation unit building.
#pragma once

#include <utility>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace stratus {
namespace asio = boost::asio;
namespace beast = boost::beast;
}  // namespace stratus
