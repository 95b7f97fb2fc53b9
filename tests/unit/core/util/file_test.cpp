#include "core/util/file.hpp"

#include "tests/support/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <sys/stat.h>

using namespace vsp;

TEST_CASE("read_regular_file reads files and refuses what is not one",
          "[util]") {
  test::TempDir dir;
  const std::string file = dir.write("rules.yaml", "rules: []\n");

  CHECK(*read_regular_file(file, 100) == "rules: []\n");
  CHECK(*read_regular_file(dir.write("empty", ""), 100) == "");

  const auto missing = read_regular_file(dir.file("nope.yaml"), 100);
  CHECK(missing.error().kind == ErrorKind::not_found);
  CHECK(missing.error().message ==
        dir.file("nope.yaml") + ": No such file or directory");

  const auto large = read_regular_file(file, 5);
  CHECK(large.error().kind == ErrorKind::invalid_input);
  CHECK(large.error().message == file + ": larger than 5 bytes");

  CHECK(read_regular_file(dir.path(), 100).error().message ==
        dir.path() + ": is a directory, not a file");
  // Endless: must be refused, not read.
  CHECK(read_regular_file("/dev/zero", 100).error().message ==
        "/dev/zero: is a device, not a file");
  // Opening a FIFO for reading would wait for a writer: it must not.
  const std::string fifo = dir.file("fifo");
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  CHECK(read_regular_file(fifo, 100).error().message ==
        fifo + ": is a FIFO, not a file");
}
