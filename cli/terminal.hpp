#pragma once

#include <memory>
#include <ostream>
#include <streambuf>
#include <string>

namespace vsp::cli {

// A stream buffer in front of a terminal that shows control characters as
// \xHH, so names and labels from requests and the ledger (chosen by whoever
// may create a service) cannot move the cursor, clear the screen, set the
// window title or overwrite a line. Newline and tab pass, and so do the
// colour codes paint() writes (ESC [ digits and ';' then 'm').
class TerminalSafeBuf final : public std::streambuf {
public:
  explicit TerminalSafeBuf(std::streambuf* target);
  TerminalSafeBuf(const TerminalSafeBuf&) = delete;
  TerminalSafeBuf& operator=(const TerminalSafeBuf&) = delete;
  ~TerminalSafeBuf() override;

protected:
  int_type overflow(int_type c) override;
  int sync() override;

private:
  void put_escaped(unsigned char c);
  void put_pending_escaped();

  std::streambuf* m_target;
  std::string m_pending; // an escape sequence not finished yet
};

// While alive, std::cout and std::cerr go through a TerminalSafeBuf when
// they are terminals. Output to a pipe or a file is left byte for byte.
class TerminalGuard {
public:
  TerminalGuard();
  TerminalGuard(const TerminalGuard&) = delete;
  TerminalGuard& operator=(const TerminalGuard&) = delete;
  ~TerminalGuard();

private:
  struct Installed {
    std::ostream* stream = nullptr;
    std::streambuf* original = nullptr;
    std::unique_ptr<TerminalSafeBuf> safe;
  };
  Installed m_out;
  Installed m_err;
};

// `text` with control characters but newline and tab shown as \xHH, for
// messages printed with stdio.
std::string printable(const std::string& text);

// `text` for one cell of a table: every control character, newline and
// tab included, shown as \xHH, so a name cannot add rows.
std::string one_line(const std::string& text);

} // namespace vsp::cli
