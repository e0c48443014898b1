#pragma once

// A small body usually comes in the same read as its head. Parsed from the
// buffer at once, it needs no asynchronous read, which even when the bytes
// are there completes through a trip round the event loop. What is missing
// is read after, as before; errors are the parser's own, as Beast's
// async_read gives them (body_limit, bad_chunk...).

#include <boost/beast/http/error.hpp>
#include <boost/system/error_code.hpp>

namespace nimbus::net {

template <class Parser, class Buffer>
boost::system::error_code parse_buffered_body(Parser& parser, Buffer& buffer) {
  boost::system::error_code error;
  if (parser.is_done() || buffer.size() == 0) return error;
  parser.eager(true);
  const std::size_t used = parser.put(buffer.data(), error);
  buffer.consume(used);
  if (error == boost::beast::http::error::need_more) error = {};
  return error;
}

}  // namespace nimbus::net
