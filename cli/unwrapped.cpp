#include "cli/unwrapped.hpp"

#include "cli/command.hpp"
#include "core/util/duration.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace vsp::cli {

using nlohmann::json;

json describe_unwrapped(vault::Response& inner, ShowSecret show) {
  const bool show_secret = show == ShowSecret::yes;
  if (inner.body.is_object() && inner.body.contains("auth") &&
      inner.body["auth"].is_object()) {
    auto auth = vault::parse_token_auth(inner, "sys/wrapping/unwrap");
    if (!auth) {
      throw CommandError(k_exit_remote, auth.error().message);
    }
    json out{{"kind", "token"},
             {"accessor", auth->accessor},
             {"policies", auth->policies},
             {"metadata", auth->metadata},
             {"ttl", auth->lease_duration.count()},
             {"renewable", auth->renewable},
             {"orphan", auth->orphan},
             {"token_type", auth->token_type}};
    if (show_secret) {
      out["token"] = std::string(auth->client_token.reveal());
    }
    return out;
  }
  json data = inner.body.is_object() && inner.body.contains("data")
                  ? inner.body["data"]
                  : json();
  json out{{"kind", "data"}};
  if (data.is_object()) {
    json keys = json::array();
    for (const auto& [key, value] : data.items()) {
      keys.push_back(key);
    }
    out["keys"] = keys;
  }
  if (inner.body.is_object() && inner.body.value("lease_id", "") != "") {
    out["lease_id"] = inner.body["lease_id"];
    out["lease_duration"] = inner.body.value("lease_duration", 0);
  }
  if (show_secret) {
    out["data"] = data;
  }
  return out;
}

void print_unwrapped(std::ostream& out, const json& d, const char* show_flag) {
  if (d["kind"] == "token") {
    out << fmt::format("accessor:    {}\n", d["accessor"].get<std::string>())
        << fmt::format(
               "policies:    {}\n",
               fmt::join(d["policies"].get<std::vector<std::string>>(), ", "))
        << fmt::format("ttl:         {}\n",
                       format_duration(Seconds(d["ttl"].get<long>())))
        << fmt::format("renewable:   {}\n", d["renewable"].get<bool>())
        << fmt::format("orphan:      {}\n", d["orphan"].get<bool>())
        << "metadata:\n";
    for (const auto& [key, value] : d["metadata"].items()) {
      out << fmt::format("  {:<18} {}\n", key, value.get<std::string>());
    }
    if (d.contains("token")) {
      out << fmt::format("token:       {}\n", d["token"].get<std::string>());
    } else {
      out << fmt::format("token:       (hidden; {} prints it)\n", show_flag);
    }
    return;
  }
  out << "data keys:   ";
  out << (d.contains("keys") ? fmt::format("{}", fmt::join(d["keys"], ", "))
                             : std::string("(none)"))
      << '\n';
  if (d.contains("lease_id")) {
    out << fmt::format("lease:       {}\n", d["lease_id"].get<std::string>());
  }
  if (d.contains("data")) {
    print_json(out, d["data"]);
  } else {
    out << fmt::format("values:      (hidden; {} prints them)\n", show_flag);
  }
}

} // namespace vsp::cli
