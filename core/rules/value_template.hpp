#pragma once

#include "core/rules/mark.hpp"
#include "core/util/result.hpp"
#include "core/util/secret_string.hpp"

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace vsp::rules {

// The template language of `format: template`. Text is copied as it is;
// `{{ NAME }}` inserts a field of the secret, `{{ vsp.KEY }}` a metadata
// value (task_id, lease_id, expires_at, ...), `{{ "text" }}` a literal
// (so `{{ "{{" }}` writes two braces). After the name, filters apply left
// to right: `{{ password | base64 }}`. Filters: base64, json (a quoted
// JSON string), shell (a single-quoted shell word), trim. Nothing else:
// no loops, no conditions, no calls, no files.
class ValueTemplate {
public:
  enum class Filter { base64, json, shell, trim };
  struct Piece {
    enum class Part { text, field, metadata } part = Part::text;
    std::string text; // the literal text, or the field or metadata name
    std::vector<Filter> filters;
  };

  // Parses `text`. On failure `error_at` is where in `text` (1-based line
  // and column) the problem starts and the message says what it is.
  static Result<ValueTemplate> parse(std::string_view text, Mark& error_at);

  // The rendered value: fields from `data` (a JSON object), metadata
  // from `metadata`. A missing field or metadata key is an invalid_input
  // Error naming it and the fields there are.
  Result<SecretString> render(const nlohmann::json& data,
                              const nlohmann::json& metadata) const;

  const std::string& text() const { return m_text; }
  const std::vector<Piece>& pieces() const { return m_pieces; }
  // The field names it uses, in order, without repeats.
  std::vector<std::string> fields() const;

private:
  std::string m_text;
  std::vector<Piece> m_pieces;
};

// Metadata keys a value may carry (and `{{ vsp.KEY }}` may name).
const std::vector<std::string>& metadata_keys();

// A field's value as text: a string as it is; an array of strings one per
// line; null as ""; any other value as compact JSON.
std::string field_text(const nlohmann::json& value);

} // namespace vsp::rules
