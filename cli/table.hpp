#pragma once

#include <ostream>
#include <string>
#include <vector>

namespace vsp::cli {

enum class Colour { none, green, yellow, red, dim, bold };

// Whether stdout gets colour: a terminal, NO_COLOR unset, TERM not "dumb".
bool colour_on_stdout();

// `text` wrapped in the ANSI codes for `colour` when `enabled`.
std::string paint(const std::string& text, Colour colour, bool enabled);

// A human table: a header row and left-aligned columns two spaces apart.
// Cells may carry a colour, which does not count toward the width.
class Table {
public:
  struct Cell {
    std::string text;
    Colour colour = Colour::none;
  };

  explicit Table(std::vector<std::string> headers);

  void add(std::vector<Cell> row);
  // Writes the table; colour only when `colour` is true.
  void print(std::ostream& out, bool colour) const;

private:
  std::vector<std::string> m_headers;
  std::vector<std::vector<Cell>> m_rows;
};

} // namespace vsp::cli
