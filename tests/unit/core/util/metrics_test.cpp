#include "core/util/metrics.hpp"

#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <optional>
#include <thread>
#include <vector>

using namespace vsp::metrics;
using Catch::Matchers::Contains;

TEST_CASE("metrics render in the Prometheus text format", "[metrics]") {
  Registry r;
  auto& requests = r.counter(
      "vsp_requests_total", "Requests answered.", {"outcome", "rule"});
  requests.with({"issued", "app"}).inc();
  requests.with({"issued", "app"}).inc(2);
  requests.with({"denied", ""}).inc();
  r.gauge("vsp_temperature", "A gauge.").with({}).set(21.5);

  const std::string text = r.render();
  CHECK_THAT(text,
             Contains("# HELP vsp_requests_total Requests answered.\n"
                      "# TYPE vsp_requests_total counter\n"
                      "vsp_requests_total{outcome=\"denied\",rule=\"\"} 1\n"
                      "vsp_requests_total{outcome=\"issued\",rule=\"app\"} "
                      "3\n"));
  CHECK_THAT(text,
             Contains("# TYPE vsp_temperature gauge\nvsp_temperature 21.5\n"));
  // Families come out in registration order.
  CHECK(text.find("vsp_requests_total") < text.find("vsp_temperature"));
}

TEST_CASE("histograms count into cumulative buckets", "[metrics]") {
  Registry r;
  auto& h = r.histogram("lat_seconds", "Latency.", {"op"}, {0.01, 0.1, 1});
  for (const double v : {0.005, 0.01, 0.05, 0.5, 3.0}) {
    h.with({"x"}).observe(v);
  }
  const Histogram::Snapshot s = h.with({"x"}).snapshot();
  CHECK(s.cumulative == std::vector<std::uint64_t>{2, 3, 4, 5});
  CHECK(s.count == 5);
  CHECK(s.sum == Approx(3.565));

  const std::string text = r.render();
  CHECK_THAT(text,
             Contains("# TYPE lat_seconds histogram\n"
                      "lat_seconds_bucket{op=\"x\",le=\"0.01\"} 2\n"
                      "lat_seconds_bucket{op=\"x\",le=\"0.1\"} 3\n"
                      "lat_seconds_bucket{op=\"x\",le=\"1\"} 4\n"
                      "lat_seconds_bucket{op=\"x\",le=\"+Inf\"} 5\n"
                      "lat_seconds_sum{op=\"x\"} 3.565\n"
                      "lat_seconds_count{op=\"x\"} 5\n"));
}

TEST_CASE("label values and help texts are escaped", "[metrics]") {
  CHECK(escape_label_value("a\"b\\c\nd") == "a\\\"b\\\\c\\nd");
  CHECK(escape_help("one\\two\nthree \"q\"") == "one\\\\two\\nthree \"q\"");

  Registry r;
  r.counter("c_total", "Line one\nline two.", {"rule"})
      .with({"say \"hi\""})
      .inc();
  const std::string text = r.render();
  CHECK_THAT(text, Contains("# HELP c_total Line one\\nline two.\n"));
  CHECK_THAT(text, Contains("c_total{rule=\"say \\\"hi\\\"\"} 1\n"));
}

TEST_CASE("sample values are written as the text format reads them",
          "[metrics]") {
  CHECK(format_value(12) == "12");
  CHECK(format_value(0.005) == "0.005");
  CHECK(format_value(-3) == "-3");
  CHECK(format_value(std::numeric_limits<double>::infinity()) == "+Inf");
  CHECK(format_value(-std::numeric_limits<double>::infinity()) == "-Inf");
  CHECK(format_value(std::nan("")) == "NaN");
}

TEST_CASE("callbacks are read at every render", "[metrics]") {
  Registry r;
  std::optional<double> value;
  r.callback("vsp_ledger_entries", "Rows.", Type::gauge, [&] { return value; });
  CHECK_THAT(r.render(), Contains("# TYPE vsp_ledger_entries gauge\n"));
  CHECK(r.render().find("\nvsp_ledger_entries ") == std::string::npos);
  value = 42;
  CHECK_THAT(r.render(), Contains("\nvsp_ledger_entries 42\n"));
}

TEST_CASE("a family stops growing at its child limit", "[metrics]") {
  Registry r;
  auto& f = r.counter("c_total", "Counter.", {"rule"});
  for (std::size_t i = 0; i < Family<Counter>::k_max_children + 10; ++i) {
    f.with({std::to_string(i)}).inc();
  }
  std::size_t children = 0;
  std::uint64_t other = 0;
  f.each([&](const std::vector<std::string>& labels, const Counter& c) {
    ++children;
    if (labels[0] == "other") {
      other = c.value();
    }
  });
  CHECK(children == Family<Counter>::k_max_children + 1);
  CHECK(other == 10);
}

TEST_CASE("a name registered twice is the same family", "[metrics]") {
  Registry r;
  auto& a = r.counter("c_total", "First.", {"x"});
  auto& b = r.counter("c_total", "Second.", {"x"});
  CHECK(&a == &b);
  CHECK(r.render().find("Second.") == std::string::npos);
}

TEST_CASE("updates from many threads are all counted", "[metrics]") {
  Registry r;
  auto& c = r.counter("c_total", "Counter.", {"rule"});
  auto& h = r.histogram("h_seconds", "Histogram.", {}, latency_buckets());
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 10'000; ++i) {
        c.with({t % 2 == 0 ? "even" : "odd"}).inc();
        h.with({}).observe(0.001);
        if (i % 1000 == 0) {
          (void)r.render(); // rendering while others update
        }
      }
    });
  }
  for (auto& t : threads) {
    t.join();
  }
  CHECK(c.with({"even"}).value() == 40'000);
  CHECK(c.with({"odd"}).value() == 40'000);
  CHECK(h.with({}).snapshot().count == 80'000);
  CHECK(h.with({}).snapshot().sum == Approx(80.0));
}
