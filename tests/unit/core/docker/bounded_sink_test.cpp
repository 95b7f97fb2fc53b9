#include "core/docker/bounded_sink.hpp"

#include <catch2/catch.hpp>

#include <string>

using vsp::docker::BoundedSink;

TEST_CASE("BoundedSink keeps a reply up to its limit and stops past it",
          "[docker]") {
  BoundedSink sink(10);
  std::string chunk = "abcdef";
  // libcurl passes size 1 and a byte count; both multiply.
  CHECK(BoundedSink::write(chunk.data(), 1, 6, &sink) == 6);
  CHECK(BoundedSink::write(chunk.data(), 2, 2, &sink) == 4);
  CHECK(sink.data == "abcdefabcd");
  CHECK_FALSE(sink.overflow);
  // One byte more aborts the transfer (a short count) and keeps nothing
  // of the chunk.
  CHECK(BoundedSink::write(chunk.data(), 1, 1, &sink) == 0);
  CHECK(sink.overflow);
  CHECK(sink.data == "abcdefabcd");
}
