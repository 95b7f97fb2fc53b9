// Counts the TCP connections vsp's Vault client opens for N sequential
// requests, as the Vault emulator sees them (not as the client reports).
// The goal is one: the client reuses its keep-alive connection.
//
//   vault_connections [REQUESTS]     prints one JSON line
#include "core/util/secret_string.hpp"
#include "core/vault/client.hpp"
#include "tests/support/vault_emulator.hpp"

#include <fmt/format.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>

int main(int argc, char** argv) {
  using namespace std::chrono;
  const long requests = argc > 1 ? std::atol(argv[1]) : 1000;

  std::string why;
  auto emulator = vsp::test::VaultEmulator::start({}, &why);
  if (!emulator) {
    std::fprintf(stderr, "vault_connections: %s\n", why.c_str());
    return 1;
  }
  vsp::vault::Config config;
  config.address = emulator->address();
  vsp::vault::Client client(config);
  const vsp::SecretString token(emulator->root_token());

  const long before = emulator->connection_count();
  const auto start = steady_clock::now();
  long failures = 0;
  for (long i = 0; i < requests; ++i) {
    if (!client.lookup_self(token, vsp::Deadline::after(seconds(10)))) {
      ++failures;
    }
  }
  const double ms =
      duration<double, std::milli>(steady_clock::now() - start).count();
  // The emulator's own control calls (stats) use connections of their
  // own, one per call; the count is read before and after.
  const long opened = emulator->connection_count() - before - 1;

  std::printf("%s\n",
              fmt::format("{{\"requests\": {}, \"failures\": {}, "
                          "\"connections\": {}, \"ms\": {:.0f}}}",
                          requests,
                          failures,
                          opened,
                          ms)
                  .c_str());
  return failures == 0 ? 0 : 1;
}
