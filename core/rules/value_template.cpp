#include "core/rules/value_template.hpp"

#include "core/docker/protocol.hpp"
#include "core/util/base64.hpp"
#include "core/util/utf8.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>

namespace vsp::rules {
namespace {

using json = nlohmann::json;
using Filter = ValueTemplate::Filter;
using Piece = ValueTemplate::Piece;

constexpr std::string_view k_metadata_prefix = "vsp.";

// Each base64 grows its input by a third: eight bound a chain to about
// ten times its input, far more filters than any value needs.
constexpr std::size_t k_max_filters = 8;

Error invalid(std::string message) {
  return Error(
      ErrorKind::invalid_input, "invalid_template", std::move(message));
}

Error too_large() {
  return invalid(fmt::format("the value would be over {} bytes, the most "
                             "Docker takes",
                             docker::k_max_value_bytes));
}

bool is_name_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' ||
         c == '.';
}

// Reads one template left to right, keeping the line and column of the
// current position for error messages.
class Reader {
public:
  explicit Reader(std::string_view text) : m_text(text) {}

  bool done() const { return m_pos >= m_text.size(); }
  char peek() const { return done() ? '\0' : m_text[m_pos]; }
  bool starts(std::string_view s) const {
    return m_text.substr(m_pos, s.size()) == s;
  }
  Mark mark() const { return {m_line, m_column}; }

  void advance(std::size_t n = 1) {
    for (; n > 0 && !done(); --n, ++m_pos) {
      if (m_text[m_pos] == '\n') {
        ++m_line;
        m_column = 1;
      } else {
        ++m_column;
      }
    }
  }
  void skip_spaces() {
    while (peek() == ' ' || peek() == '\t') {
      advance();
    }
  }
  std::string name() {
    std::string out;
    while (is_name_char(peek())) {
      out += peek();
      advance();
    }
    return out;
  }

private:
  std::string_view m_text;
  std::size_t m_pos = 0;
  int m_line = 1;
  int m_column = 1;
};

Result<std::string> string_literal(Reader& in, Mark& error_at) {
  error_at = in.mark();
  in.advance(); // the opening quote
  std::string out;
  while (!in.done() && in.peek() != '"' && in.peek() != '\n') {
    if (in.peek() != '\\') {
      out += in.peek();
      in.advance();
      continue;
    }
    in.advance();
    const char c = in.peek();
    if (c != '"' && c != '\\' && c != 'n' && c != 't') {
      error_at = in.mark();
      return invalid("unknown escape in a string (use \\\" \\\\ \\n or \\t)");
    }
    out += c == 'n' ? '\n' : c == 't' ? '\t' : c;
    in.advance();
  }
  if (in.peek() != '"') {
    return invalid("string is not closed on its line");
  }
  in.advance();
  return out;
}

std::string apply_filter(Filter f, const std::string& text);

Result<Filter> filter(Reader& in, Mark& error_at) {
  error_at = in.mark();
  const std::string name = in.name();
  if (name == "base64") {
    return Filter::base64;
  }
  if (name == "json") {
    return Filter::json;
  }
  if (name == "shell") {
    return Filter::shell;
  }
  if (name == "trim") {
    return Filter::trim;
  }
  return invalid(fmt::format("unknown filter \"{}\" (expected base64, json, "
                             "shell or trim)",
                             name));
}

Result<Piece> expression(Reader& in, Mark& error_at) {
  const Mark open = in.mark();
  in.advance(2); // "{{"
  in.skip_spaces();
  Piece piece;
  error_at = in.mark();
  if (in.peek() == '"') {
    auto text = string_literal(in, error_at);
    if (!text) {
      return text.error();
    }
    piece.text = std::move(*text);
  } else {
    piece.text = in.name();
    if (piece.text.empty()) {
      return invalid("expected a field name or a \"string\" after '{{'");
    }
    piece.part = Piece::Part::field;
    if (piece.text.substr(0, k_metadata_prefix.size()) == k_metadata_prefix) {
      piece.part = Piece::Part::metadata;
      piece.text.erase(0, k_metadata_prefix.size());
      const auto& keys = metadata_keys();
      if (std::find(keys.begin(), keys.end(), piece.text) == keys.end()) {
        return invalid(fmt::format("unknown metadata vsp.{} (known: vsp.{})",
                                   piece.text,
                                   fmt::join(keys, ", vsp.")));
      }
    }
  }
  for (in.skip_spaces(); in.peek() == '|'; in.skip_spaces()) {
    in.advance();
    in.skip_spaces();
    if (piece.filters.size() == k_max_filters) {
      error_at = in.mark();
      return invalid(fmt::format("more than {} filters in one '{{{{ ... }}}}'",
                                 k_max_filters));
    }
    auto f = filter(in, error_at);
    if (!f) {
      return f.error();
    }
    piece.filters.push_back(*f);
  }
  if (!in.starts("}}")) {
    error_at = in.done() ? open : in.mark();
    return invalid(in.done() ? "'{{' is never closed"
                             : "expected '|' or '}}' in '{{ ... }}'");
  }
  in.advance(2);
  if (piece.part == Piece::Part::text) {
    // A literal with filters is folded now; it holds no secret.
    for (const Filter f : piece.filters) {
      piece.text = apply_filter(f, piece.text);
    }
    piece.filters.clear();
    if (piece.text.size() > docker::k_max_value_bytes) {
      error_at = open;
      return too_large();
    }
  }
  return piece;
}

std::string shell_quote(std::string_view text) {
  std::string out = "'";
  for (const char c : text) {
    out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  }
  return out + "'";
}

std::string trim(std::string_view text) {
  const auto first = text.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) {
    return {};
  }
  const auto last = text.find_last_not_of(" \t\r\n");
  return std::string(text.substr(first, last - first + 1));
}

std::string apply_filter(Filter f, const std::string& text) {
  switch (f) {
  case Filter::base64:
    return base64::encode(text);
  case Filter::json:
    // Literals are checked UTF-8 and secret fields come from parsed JSON,
    // so nothing is replaced; replacing rather than throwing keeps a
    // value's bytes out of an exception message all the same.
    return json(text).dump(-1, ' ', false, json::error_handler_t::replace);
  case Filter::shell:
    return shell_quote(text);
  case Filter::trim:
    return trim(text);
  }
  return text;
}

std::string names_of(const json& object) {
  if (!object.is_object() || object.empty()) {
    return "none";
  }
  std::string out;
  for (const auto& item : object.items()) {
    out += out.empty() ? "" : ", ";
    out += item.key();
  }
  return out;
}

} // namespace

const std::vector<std::string>& metadata_keys() {
  static const std::vector<std::string> k_keys{
      "task_id",
      "task_name",
      "service_id",
      "service_name",
      "node_id",
      "secret",
      "rule",
      "kind",
      "path",
      "issuance_id",
      "issued_at",
      "lease_id",
      "expires_at",
      "lease_duration",
      "renewable",
      "kv_version",
      "version",
  };
  return k_keys;
}

std::string field_text(const json& value) {
  if (value.is_string()) {
    return value.get<std::string>();
  }
  if (value.is_null()) {
    return {};
  }
  const bool strings =
      value.is_array() &&
      std::all_of(value.begin(), value.end(), [](const json& item) {
        return item.is_string();
      });
  if (strings) {
    std::string out;
    for (const auto& item : value) {
      out += out.empty() ? "" : "\n";
      out += item.get<std::string>();
    }
    return out;
  }
  return value.dump();
}

Result<ValueTemplate> ValueTemplate::parse(std::string_view text,
                                           Mark& error_at) {
  if (const auto at = utf8::first_invalid(text); at != text.npos) {
    error_at = mark_at(text, at);
    return invalid("a template must be UTF-8 text");
  }
  ValueTemplate out;
  out.m_text = std::string(text);
  Reader in(text);
  std::string literal;
  while (!in.done()) {
    if (!in.starts("{{")) {
      literal += in.peek();
      in.advance();
      continue;
    }
    auto piece = expression(in, error_at);
    if (!piece) {
      return piece.error();
    }
    if (piece->part == Piece::Part::text) {
      literal += piece->text;
      continue;
    }
    if (!literal.empty()) {
      out.m_pieces.push_back({Piece::Part::text, std::move(literal), {}});
      literal.clear();
    }
    out.m_pieces.push_back(std::move(*piece));
  }
  if (!literal.empty()) {
    out.m_pieces.push_back({Piece::Part::text, std::move(literal), {}});
  }
  return out;
}

std::vector<std::string> ValueTemplate::fields() const {
  std::vector<std::string> out;
  for (const auto& p : m_pieces) {
    if (p.part == Piece::Part::field &&
        std::find(out.begin(), out.end(), p.text) == out.end()) {
      out.push_back(p.text);
    }
  }
  return out;
}

Result<SecretString> ValueTemplate::render(const json& data,
                                           const json& metadata) const {
  std::string out;
  for (const auto& p : m_pieces) {
    if (p.part == Piece::Part::text) {
      out += p.text;
      continue;
    }
    const bool field = p.part == Piece::Part::field;
    const json& from = field ? data : metadata;
    const auto it = from.is_object() ? from.find(p.text) : from.end();
    if (!from.is_object() || it == from.end()) {
      wipe(out);
      if (field) {
        return invalid(fmt::format("template field \"{}\" is missing (the "
                                   "value has: {})",
                                   p.text,
                                   names_of(data)));
      }
      return invalid(fmt::format(
          "template metadata vsp.{} is not set for this value", p.text));
    }
    std::string text = field_text(*it);
    for (const Filter f : p.filters) {
      std::string next = apply_filter(f, text);
      wipe(text);
      text = std::move(next);
    }
    out += text;
    wipe(text);
    // Checked as it grows, so a large field repeated many times is
    // refused before it takes the plugin's memory.
    if (out.size() > docker::k_max_value_bytes) {
      wipe(out);
      return too_large();
    }
  }
  return SecretString(std::move(out));
}

} // namespace vsp::rules
