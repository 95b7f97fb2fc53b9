#include "core/util/metrics.hpp"

#include <fmt/format.h>

#include <cmath>
#include <variant>

namespace vsp::metrics {
namespace {

// A sample read at render time.
struct Callback {
  std::string name;
  std::string help;
  Type type = Type::gauge;
  std::function<std::optional<double>()> read;
};

const char* type_name(Type t) {
  switch (t) {
  case Type::counter:
    return "counter";
  case Type::gauge:
    return "gauge";
  case Type::histogram:
    return "histogram";
  }
  return "untyped";
}

// `{a="x",b="y"}`, or "" without labels; `extra` is one more pair (le).
std::string label_text(const std::vector<std::string>& names,
                       const std::vector<std::string>& values,
                       std::string_view extra_name = {},
                       std::string_view extra_value = {}) {
  if (names.empty() && extra_name.empty()) {
    return {};
  }
  std::string out = "{";
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (i > 0) {
      out += ',';
    }
    out += fmt::format("{}=\"{}\"", names[i], escape_label_value(values[i]));
  }
  if (!extra_name.empty()) {
    if (!names.empty()) {
      out += ',';
    }
    out += fmt::format("{}=\"{}\"", extra_name, extra_value);
  }
  out += '}';
  return out;
}

void render_header(std::string& out,
                   const std::string& name,
                   const std::string& help,
                   Type type) {
  out += fmt::format("# HELP {} {}\n# TYPE {} {}\n",
                     name,
                     escape_help(help),
                     name,
                     type_name(type));
}

void render_family(std::string& out, const Family<Counter>& f) {
  render_header(out, f.name(), f.help(), Type::counter);
  f.each([&](const std::vector<std::string>& values, const Counter& c) {
    out += fmt::format(
        "{}{} {}\n", f.name(), label_text(f.labels(), values), c.value());
  });
}

void render_family(std::string& out, const Family<Gauge>& f) {
  render_header(out, f.name(), f.help(), Type::gauge);
  f.each([&](const std::vector<std::string>& values, const Gauge& g) {
    out += fmt::format("{}{} {}\n",
                       f.name(),
                       label_text(f.labels(), values),
                       format_value(g.value()));
  });
}

void render_family(std::string& out, const Callback& c) {
  render_header(out, c.name, c.help, c.type);
  if (const std::optional<double> v = c.read()) {
    out += fmt::format("{} {}\n", c.name, format_value(*v));
  }
}

void render_family(std::string& out, const Family<Histogram>& f) {
  render_header(out, f.name(), f.help(), Type::histogram);
  f.each([&](const std::vector<std::string>& values, const Histogram& h) {
    const Histogram::Snapshot s = h.snapshot();
    for (std::size_t i = 0; i <= s.bounds.size(); ++i) {
      const std::string le =
          i < s.bounds.size() ? format_value(s.bounds[i]) : "+Inf";
      out += fmt::format("{}_bucket{} {}\n",
                         f.name(),
                         label_text(f.labels(), values, "le", le),
                         s.cumulative[i]);
    }
    const std::string labels = label_text(f.labels(), values);
    out += fmt::format("{}_sum{} {}\n", f.name(), labels, format_value(s.sum));
    out += fmt::format("{}_count{} {}\n", f.name(), labels, s.count);
  });
}

} // namespace

// ---- Histogram -------------------------------------------------------------

Histogram::Histogram(std::vector<double> bounds)
    : m_bounds(std::move(bounds)),
      m_buckets(new std::atomic<std::uint64_t>[m_bounds.size() + 1]) {
  for (std::size_t i = 0; i <= m_bounds.size(); ++i) {
    m_buckets[i].store(0, std::memory_order_relaxed);
  }
}

void Histogram::observe(double v) {
  // Bounds are few (under 20): a linear scan beats a binary search here.
  std::size_t i = 0;
  while (i < m_bounds.size() && v > m_bounds[i]) {
    ++i;
  }
  m_buckets[i].fetch_add(1, std::memory_order_relaxed);
  m_sum.fetch_add(v, std::memory_order_relaxed);
}

Histogram::Snapshot Histogram::snapshot() const {
  Snapshot s;
  s.bounds = m_bounds;
  s.cumulative.reserve(m_bounds.size() + 1);
  std::uint64_t total = 0;
  for (std::size_t i = 0; i <= m_bounds.size(); ++i) {
    total += m_buckets[i].load(std::memory_order_relaxed);
    s.cumulative.push_back(total);
  }
  s.count = total;
  s.sum = m_sum.load(std::memory_order_relaxed);
  return s;
}

std::vector<double> latency_buckets() {
  return {0.0005,
          0.001,
          0.0025,
          0.005,
          0.01,
          0.025,
          0.05,
          0.1,
          0.25,
          0.5,
          1,
          2.5,
          5,
          10};
}

// ---- Family ----------------------------------------------------------------

template <typename M>
M& Family<M>::with(std::initializer_list<std::string_view> values) {
  std::lock_guard lock(m_mutex);
  if (auto it = m_children.find(values); it != m_children.end()) {
    return *it->second;
  }
  std::vector<std::string> key;
  if (m_children.size() < k_max_children) {
    key.assign(values.begin(), values.end());
  } else {
    key.assign(m_labels.size(), "other");
    if (auto it = m_children.find(key); it != m_children.end()) {
      return *it->second;
    }
  }
  // A caller giving the wrong number of values still gets a child whose
  // labels render (missing ones empty, extra ones dropped).
  key.resize(m_labels.size());
  auto [it, inserted] = m_children.try_emplace(std::move(key), nullptr);
  if (inserted) {
    it->second = m_make();
  }
  return *it->second;
}

template <typename M>
void Family<M>::each(const std::function<void(const std::vector<std::string>&,
                                              const M&)>& f) const {
  std::lock_guard lock(m_mutex);
  for (const auto& [values, child] : m_children) {
    f(values, *child);
  }
}

template class Family<Counter>;
template class Family<Gauge>;
template class Family<Histogram>;

// ---- Registry --------------------------------------------------------------

struct Registry::Entry {
  std::string name;
  std::variant<std::unique_ptr<Family<Counter>>,
               std::unique_ptr<Family<Gauge>>,
               std::unique_ptr<Family<Histogram>>,
               std::unique_ptr<Callback>>
      family;
};

Registry::Registry() = default;
Registry::~Registry() = default;

Registry::Entry* Registry::find(const std::string& name) {
  for (auto& e : m_entries) {
    if (e->name == name) {
      return e.get();
    }
  }
  return nullptr;
}

Family<Counter>& Registry::counter(const std::string& name,
                                   const std::string& help,
                                   std::vector<std::string> labels) {
  std::lock_guard lock(m_mutex);
  if (Entry* e = find(name)) {
    return *std::get<0>(e->family);
  }
  auto family =
      std::make_unique<Family<Counter>>(name, help, std::move(labels), [] {
        return std::make_unique<Counter>();
      });
  Family<Counter>& out = *family;
  m_entries.push_back(std::make_unique<Entry>(Entry{name, std::move(family)}));
  return out;
}

Family<Gauge>& Registry::gauge(const std::string& name,
                               const std::string& help,
                               std::vector<std::string> labels) {
  std::lock_guard lock(m_mutex);
  if (Entry* e = find(name)) {
    return *std::get<1>(e->family);
  }
  auto family = std::make_unique<Family<Gauge>>(
      name, help, std::move(labels), [] { return std::make_unique<Gauge>(); });
  Family<Gauge>& out = *family;
  m_entries.push_back(std::make_unique<Entry>(Entry{name, std::move(family)}));
  return out;
}

Family<Histogram>& Registry::histogram(const std::string& name,
                                       const std::string& help,
                                       std::vector<std::string> labels,
                                       std::vector<double> bounds) {
  std::lock_guard lock(m_mutex);
  if (Entry* e = find(name)) {
    return *std::get<2>(e->family);
  }
  auto family = std::make_unique<Family<Histogram>>(
      name, help, std::move(labels), [bounds = std::move(bounds)] {
        return std::make_unique<Histogram>(bounds);
      });
  Family<Histogram>& out = *family;
  m_entries.push_back(std::make_unique<Entry>(Entry{name, std::move(family)}));
  return out;
}

void Registry::callback(const std::string& name,
                        const std::string& help,
                        Type type,
                        std::function<std::optional<double>()> read) {
  std::lock_guard lock(m_mutex);
  if (find(name) != nullptr) {
    return;
  }
  auto cb =
      std::make_unique<Callback>(Callback{name, help, type, std::move(read)});
  m_entries.push_back(std::make_unique<Entry>(Entry{name, std::move(cb)}));
}

std::string Registry::render() const {
  std::lock_guard lock(m_mutex);
  std::string out;
  out.reserve(8192);
  for (const auto& e : m_entries) {
    std::visit([&](const auto& family) { render_family(out, *family); },
               e->family);
  }
  return out;
}

// ---- text format -----------------------------------------------------------

std::string escape_label_value(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (const char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string escape_help(std::string_view help) {
  std::string out;
  out.reserve(help.size());
  for (const char c : help) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string format_value(double v) {
  if (std::isnan(v)) {
    return "NaN";
  }
  if (std::isinf(v)) {
    return v > 0 ? "+Inf" : "-Inf";
  }
  // Shortest text that reads back as the same double; integers without a
  // fraction ("12", not "12.0").
  if (v == std::floor(v) && std::fabs(v) < 1e15) {
    return fmt::format("{}", static_cast<long long>(v));
  }
  return fmt::format("{}", v);
}

} // namespace vsp::metrics
