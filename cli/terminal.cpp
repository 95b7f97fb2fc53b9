#include "cli/terminal.hpp"

#include "core/util/log.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <iostream>

namespace vsp::cli {
namespace {

constexpr char k_escape = '\x1b';
// Longest colour code let through; paint() writes at most "ESC[1m".
constexpr std::size_t k_longest_colour = 16;

bool is_control(unsigned char c) {
  return (c < 0x20 && c != '\n' && c != '\t') || c == 0x7f;
}

bool colour_parameter(char c) {
  return (c >= '0' && c <= '9') || c == ';';
}

} // namespace

TerminalSafeBuf::TerminalSafeBuf(std::streambuf* target) : m_target(target) {}

TerminalSafeBuf::~TerminalSafeBuf() {
  sync();
}

void TerminalSafeBuf::put_escaped(unsigned char c) {
  const std::string text = fmt::format("\\x{:02x}", c);
  m_target->sputn(text.data(), static_cast<std::streamsize>(text.size()));
}

void TerminalSafeBuf::put_pending_escaped() {
  if (m_pending.empty()) {
    return;
  }
  put_escaped(static_cast<unsigned char>(m_pending.front()));
  m_target->sputn(m_pending.data() + 1,
                  static_cast<std::streamsize>(m_pending.size() - 1));
  m_pending.clear();
}

TerminalSafeBuf::int_type TerminalSafeBuf::overflow(int_type ch) {
  if (traits_type::eq_int_type(ch, traits_type::eof())) {
    return traits_type::not_eof(ch);
  }
  const char c = traits_type::to_char_type(ch);
  if (!m_pending.empty()) {
    // In "ESC [ parameters": a colour code ends with 'm'; anything else
    // shows the sequence so far escaped and goes on with this character.
    if (m_pending.size() == 1 && c == '[') {
      m_pending += c;
      return ch;
    }
    if (m_pending.size() >= 2 && colour_parameter(c) &&
        m_pending.size() < k_longest_colour) {
      m_pending += c;
      return ch;
    }
    if (m_pending.size() >= 2 && c == 'm') {
      m_pending += c;
      m_target->sputn(m_pending.data(),
                      static_cast<std::streamsize>(m_pending.size()));
      m_pending.clear();
      return ch;
    }
    put_pending_escaped();
  }
  if (c == k_escape) {
    m_pending = c;
  } else if (is_control(static_cast<unsigned char>(c))) {
    put_escaped(static_cast<unsigned char>(c));
  } else {
    m_target->sputc(c);
  }
  return ch;
}

int TerminalSafeBuf::sync() {
  put_pending_escaped();
  return m_target->pubsync();
}

TerminalGuard::TerminalGuard() {
  const auto install = [](std::ostream& stream, int fd, Installed& slot) {
    if (::isatty(fd) != 1) {
      return;
    }
    stream.flush();
    slot.stream = &stream;
    slot.original = stream.rdbuf();
    slot.safe = std::make_unique<TerminalSafeBuf>(slot.original);
    stream.rdbuf(slot.safe.get());
  };
  install(std::cout, STDOUT_FILENO, m_out);
  install(std::cerr, STDERR_FILENO, m_err);
}

TerminalGuard::~TerminalGuard() {
  for (Installed* slot : {&m_out, &m_err}) {
    if (slot->stream != nullptr) {
      slot->stream->flush();
      slot->stream->rdbuf(slot->original);
      slot->safe.reset();
    }
  }
}

std::string printable(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (is_control(u) || c == k_escape) {
      out += fmt::format("\\x{:02x}", u);
    } else {
      out += c;
    }
  }
  return out;
}

std::string one_line(const std::string& text) {
  return log::escape_controls(text);
}

} // namespace vsp::cli
