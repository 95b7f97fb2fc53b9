#include "cli/table.hpp"

#include "cli/terminal.hpp"
#include "core/util/env.hpp"

#include <unistd.h>

#include <algorithm>

namespace vsp::cli {
namespace {

const char* code_of(Colour colour) {
  switch (colour) {
  case Colour::green:
    return "\033[32m";
  case Colour::yellow:
    return "\033[33m";
  case Colour::red:
    return "\033[31m";
  case Colour::dim:
    return "\033[2m";
  case Colour::bold:
    return "\033[1m";
  case Colour::none:
    break;
  }
  return "";
}

} // namespace

Colouring colour_on_stdout() {
  const bool on = ::isatty(STDOUT_FILENO) == 1 && !process_env("NO_COLOR") &&
                  process_env("TERM").value_or("") != "dumb";
  return on ? Colouring::on : Colouring::off;
}

std::string paint(const std::string& text, Colour colour, Colouring mode) {
  if (mode == Colouring::off || colour == Colour::none || text.empty()) {
    return text;
  }
  return code_of(colour) + text + "\033[0m";
}

Table::Table(std::vector<std::string> headers)
    : m_headers(std::move(headers)) {}

void Table::add(std::vector<Cell> row) {
  row.resize(m_headers.size());
  for (auto& cell : row) {
    cell.text = one_line(cell.text);
  }
  m_rows.push_back(std::move(row));
}

void Table::print(std::ostream& out, Colouring mode) const {
  std::vector<std::size_t> width(m_headers.size());
  for (std::size_t i = 0; i < m_headers.size(); ++i) {
    width[i] = m_headers[i].size();
    for (const auto& row : m_rows) {
      width[i] = std::max(width[i], row[i].text.size());
    }
  }
  const auto line = [&](const std::vector<Cell>& cells) {
    std::string text;
    for (std::size_t i = 0; i < cells.size(); ++i) {
      const bool last = i + 1 == cells.size();
      text += paint(cells[i].text, cells[i].colour, mode);
      if (!last) {
        text += std::string(width[i] - cells[i].text.size() + 2, ' ');
      }
    }
    text.erase(text.find_last_not_of(' ') + 1);
    out << text << '\n';
  };
  std::vector<Cell> header;
  for (const auto& h : m_headers) {
    header.push_back({h, Colour::bold});
  }
  line(header);
  for (const auto& row : m_rows) {
    line(row);
  }
}

} // namespace vsp::cli
