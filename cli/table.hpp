#pragma once

#include <ostream>
#include <string>
#include <vector>

namespace vsp::cli {

enum class Colour { none, green, yellow, red, dim, bold };

// Whether output is coloured.
enum class Colouring { off, on };

// Colour for stdout: on for a terminal, unless NO_COLOR is set or TERM is
// "dumb".
Colouring colour_on_stdout();

// `text` wrapped in the ANSI codes for `colour` when colouring is on.
std::string paint(const std::string& text, Colour colour, Colouring mode);

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
  // Writes the table, in colour if `mode` says so.
  void print(std::ostream& out, Colouring mode) const;

private:
  std::vector<std::string> m_headers;
  std::vector<std::vector<Cell>> m_rows;
};

} // namespace vsp::cli
