#include "cli/command.hpp"

#include <catch2/catch.hpp>

using vsp::cli::counted;

TEST_CASE("counted agrees the noun with the count", "[cli]") {
  CHECK(counted(0, "connection") == "0 connections");
  CHECK(counted(1, "connection") == "1 connection");
  CHECK(counted(2, "connection") == "2 connections");
  CHECK(counted(1, "running task") == "1 running task");
  CHECK(counted(12, "running task") == "12 running tasks");
  CHECK(counted(1, "entry", "entries") == "1 entry");
  CHECK(counted(3, "entry", "entries") == "3 entries");
}
