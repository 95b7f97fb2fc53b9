#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

// Counters, gauges and histograms for the plugin's /metrics, rendered in
// Prometheus' text exposition format 0.0.4. Updates are lock-free (relaxed
// atomics); finding a labelled child takes a mutex and a map lookup, so a
// hot path may keep the child's reference, which stays valid for the
// registry's lifetime.
namespace vsp::metrics {

// A count that only goes up.
class Counter {
public:
  void inc(std::uint64_t n = 1) {
    m_value.fetch_add(n, std::memory_order_relaxed);
  }
  std::uint64_t value() const {
    return m_value.load(std::memory_order_relaxed);
  }

private:
  std::atomic<std::uint64_t> m_value{0};
};

// A value that goes up and down.
class Gauge {
public:
  void set(double v) { m_value.store(v, std::memory_order_relaxed); }
  void add(double v) { m_value.fetch_add(v, std::memory_order_relaxed); }
  double value() const { return m_value.load(std::memory_order_relaxed); }

private:
  std::atomic<double> m_value{0.0};
};

// Observations counted into fixed buckets (upper bounds, ascending; +Inf
// is implicit), with their sum and count.
class Histogram {
public:
  explicit Histogram(std::vector<double> bounds);

  void observe(double v);

  struct Snapshot {
    std::vector<double> bounds;
    std::vector<std::uint64_t> cumulative; // per bound, then +Inf
    double sum = 0;
    std::uint64_t count = 0;
  };
  // Bucket counts read one by one: under concurrent updates a snapshot may
  // be off by the observations made while it was read.
  Snapshot snapshot() const;

private:
  const std::vector<double> m_bounds;
  std::unique_ptr<std::atomic<std::uint64_t>[]> m_buckets; // bounds + 1
  std::atomic<double> m_sum{0.0};
};

// Bucket bounds for request latencies in seconds: 0.5 ms to 10 s.
std::vector<double> latency_buckets();

enum class Type { counter, gauge, histogram };

// One metric name with its children, one per combination of label values.
// Beyond k_max_children combinations, new ones all land in one child whose
// labels are "other": a bug or a hostile input cannot grow it unbounded.
template <typename M>
class Family {
public:
  static constexpr std::size_t k_max_children = 1000;
  using Make = std::function<std::unique_ptr<M>()>;

  Family(std::string name,
         std::string help,
         std::vector<std::string> labels,
         Make make)
      : m_name(std::move(name)), m_help(std::move(help)),
        m_labels(std::move(labels)), m_make(std::move(make)) {}

  // The child for `values` (as many as there are label names), created on
  // first use.
  M& with(std::initializer_list<std::string_view> values);

  const std::string& name() const { return m_name; }
  const std::string& help() const { return m_help; }
  const std::vector<std::string>& labels() const { return m_labels; }

  // Calls `f(values, child)` for every child, ordered by label values.
  void
  each(const std::function<void(const std::vector<std::string>&, const M&)>& f)
      const;

private:
  const std::string m_name;
  const std::string m_help;
  const std::vector<std::string> m_labels;
  const Make m_make;
  // Compares stored label values with a caller's list without copying
  // it, so finding an existing child allocates nothing.
  struct KeyLess {
    using is_transparent = void;
    using List = std::initializer_list<std::string_view>;
    bool operator()(const std::vector<std::string>& a,
                    const std::vector<std::string>& b) const {
      return a < b;
    }
    bool operator()(const std::vector<std::string>& a, List b) const {
      return std::lexicographical_compare(
          a.begin(), a.end(), b.begin(), b.end(), less_view);
    }
    bool operator()(List a, const std::vector<std::string>& b) const {
      return std::lexicographical_compare(
          a.begin(), a.end(), b.begin(), b.end(), less_view);
    }
    static bool less_view(std::string_view x, std::string_view y) {
      return x < y;
    }
  };

  mutable std::mutex m_mutex;
  std::map<std::vector<std::string>, std::unique_ptr<M>, KeyLess> m_children;
};

// Owns every family and renders them. Registration is not meant for hot
// paths; rendering may run while other threads update.
class Registry {
public:
  Registry();
  ~Registry();
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  // Names must be valid Prometheus names and unique; a name given twice
  // returns the family registered first.
  Family<Counter>& counter(const std::string& name,
                           const std::string& help,
                           std::vector<std::string> labels = {});
  Family<Gauge>& gauge(const std::string& name,
                       const std::string& help,
                       std::vector<std::string> labels = {});
  Family<Histogram>& histogram(const std::string& name,
                               const std::string& help,
                               std::vector<std::string> labels,
                               std::vector<double> bounds);

  // One unlabelled sample read from elsewhere at every render (memory, the
  // login's TTL), rendered as `type`. `read` returns nullopt for "no
  // sample now"; it runs on the rendering thread and must not throw.
  void callback(const std::string& name,
                const std::string& help,
                Type type,
                std::function<std::optional<double>()> read);

  // Every family in registration order, in text format 0.0.4.
  std::string render() const;

  // The exposition format's Content-Type.
  static constexpr std::string_view k_content_type =
      "text/plain; version=0.0.4; charset=utf-8";

private:
  struct Entry;

  Entry* find(const std::string& name);

  mutable std::mutex m_mutex;
  std::vector<std::unique_ptr<Entry>> m_entries;
};

// Label values and help texts escaped as the text format wants them.
std::string escape_label_value(std::string_view value);
std::string escape_help(std::string_view help);
// A sample value as the text format writes it ("+Inf", "0.005", "12").
std::string format_value(double v);

} // namespace vsp::metrics
