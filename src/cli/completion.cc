// `stratus completion bash|zsh`: a completion script generated from the binary's own command
// tree, so it always offers exactly the subcommands and flags this build has. Queue ids after
// --queue (and for the queue commands) come from `stratus queues list` at completion time.
#include <iostream>
#include <set>

#include "cli/commands.h"

namespace stratus::cli {

namespace {

struct Node {
  std::string path;                                        // " queues list"
  std::vector<std::pair<std::string, std::string>> words;  // word, description: subcommands first
  size_t subcommands = 0;                                  // how many of `words` are subcommands
};

void Walk(const CLI::App& app, const std::string& path, std::vector<Node>* out) {
  Node node{path, {}};
  auto subs = app.get_subcommands([](const CLI::App*) { return true; });
  for (const CLI::App* sub : subs) node.words.emplace_back(sub->get_name(), sub->get_description());
  node.subcommands = node.words.size();
  for (const CLI::Option* opt : app.get_options()) {
    if (!opt->nonpositional()) continue;
    for (const auto& l : opt->get_lnames()) node.words.emplace_back("--" + l, opt->get_description());
    for (const auto& s : opt->get_snames()) node.words.emplace_back("-" + s, opt->get_description());
  }
  out->push_back(node);
  for (const CLI::App* sub : subs) Walk(*sub, path + " " + sub->get_name(), out);
}

std::string Quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// The command paths whose positional argument is a queue id.
const std::set<std::string> kQueuePositional = {" queues describe", " queues update", " queues pause",
                                                " queues resume",   " queues purge",  " queues delete"};

std::string PathCase(const std::vector<Node>& nodes) {
  std::string cases;
  for (const auto& n : nodes) {
    if (n.path.empty()) continue;
    cases += (cases.empty() ? "" : "|") + Quote(n.path);
  }
  return cases;
}

std::string Bash(const std::vector<Node>& nodes) {
  std::string s =
      "# bash completion for stratus: eval \"$(stratus completion bash)\", or save it in\n"
      "# /etc/bash_completion.d/stratus\n"
      "_stratus_queue_ids() {\n"
      "  stratus queues list 2>/dev/null | awk 'NR > 1 { print $1 }'\n"
      "}\n"
      "_stratus() {\n"
      "  local cur=\"${COMP_WORDS[COMP_CWORD]}\" prev=\"${COMP_WORDS[COMP_CWORD-1]}\" path=\"\" w i\n"
      "  for ((i = 1; i < COMP_CWORD; i++)); do\n"
      "    w=\"${COMP_WORDS[i]}\"\n"
      "    case \"$w\" in -*) continue ;; esac\n"
      "    case \"$path $w\" in\n"
      "      " +
      PathCase(nodes) +
      ") path=\"$path $w\" ;;\n"
      "    esac\n"
      "  done\n"
      "  case \"$prev\" in\n"
      "    --format) COMPREPLY=($(compgen -W 'table json yaml' -- \"$cur\")); return ;;\n"
      "    --queue) COMPREPLY=($(compgen -W \"$(_stratus_queue_ids)\" -- \"$cur\")); return ;;\n"
      "    --body-file|--data-dir|--api-token-file|--tls-cert|--tls-key|--ca-file|--audit-log)\n"
      "      COMPREPLY=($(compgen -f -- \"$cur\")); return ;;\n"
      "  esac\n"
      "  local words=\"\" subs=\"\" opts=\"\"\n"
      "  case \"$path\" in\n";
  // Subcommands when the word does not start with '-' and there are any, else the flags.
  for (const auto& n : nodes) {
    std::string subs, opts;
    for (size_t i = 0; i < n.words.size(); ++i) {
      std::string& list = i < n.subcommands ? subs : opts;
      list += (list.empty() ? "" : " ") + n.words[i].first;
    }
    if (n.path == " completion") subs = "bash zsh";
    s += "    " + Quote(n.path) + ") subs=" + Quote(subs) + " opts=" + Quote(opts) + " ;;\n";
  }
  s += "  esac\n";
  s += "  if [[ \"$cur\" == -* || -z \"$subs\" ]]; then words=\"$opts\"; else words=\"$subs\"; fi\n";
  s += "  case \"$path\" in\n    ";
  std::string qp;
  for (const auto& p : kQueuePositional) qp += (qp.empty() ? "" : "|") + Quote(p);
  s += qp + ")\n      [[ \"$cur\" != -* ]] && words=\"$(_stratus_queue_ids)\" ;;\n";
  s += "    ' queues apply')\n      [[ \"$cur\" != -* ]] && { COMPREPLY=($(compgen -f -- \"$cur\")); return; } ;;\n";
  s += "  esac\n";
  s += "  COMPREPLY=($(compgen -W \"$words\" -- \"$cur\"))\n}\ncomplete -F _stratus stratus\n";
  return s;
}

std::string Zsh(const std::vector<Node>& nodes) {
  std::string s =
      "#compdef stratus\n"
      "# zsh completion for stratus: eval \"$(stratus completion zsh)\" after compinit, or save it as\n"
      "# _stratus in a directory of $fpath\n"
      "_stratus() {\n"
      "  local path_=\"\" w\n"
      "  local -a entries\n"
      "  for w in \"${(@)words[2,CURRENT-1]}\"; do\n"
      "    [[ $w == -* ]] && continue\n"
      "    case \"$path_ $w\" in\n"
      "      (" +
      PathCase(nodes) +
      ") path_=\"$path_ $w\" ;;\n"
      "    esac\n"
      "  done\n"
      "  case \"${words[CURRENT-1]}\" in\n"
      "    (--format) compadd table json yaml; return ;;\n"
      "    (--queue) compadd -- ${(f)\"$(stratus queues list 2>/dev/null | awk 'NR > 1 { print $1 }')\"}; return ;;\n"
      "    (--body-file|--data-dir|--api-token-file|--tls-cert|--tls-key|--ca-file|--audit-log) _files; return ;;\n"
      "  esac\n"
      "  case \"$path_\" in\n";
  for (const auto& n : nodes) {
    s += "    (" + Quote(n.path) + ") entries=(";
    for (const auto& [w, d] : n.words) {
      std::string escaped;
      for (char c : w) escaped += c == ':' ? std::string("\\:") : std::string(1, c);
      std::string desc = d.substr(0, d.find('\n'));
      s += " " + Quote(escaped + ":" + desc.substr(0, 70));
    }
    if (n.path == " completion") s += " 'bash:bash script' 'zsh:zsh script'";
    s += " ) ;;\n";
  }
  s += "  esac\n";
  s += "  _describe -t commands stratus entries\n";
  s += "  if [[ $path_ == ' queues apply' ]]; then _files; fi\n";
  s += "}\n";
  s += "if (( $+functions[compdef] )); then compdef _stratus stratus; fi\n";
  return s;
}

const CLI::App* g_root = nullptr;

int Completion(Args& a) {
  std::vector<Node> nodes;
  Walk(*g_root, "", &nodes);
  std::cout << (a.shell == "zsh" ? Zsh(nodes) : Bash(nodes));
  return kExitOk;
}

void CompletionFlags(CLI::App& cmd, Args& a) {
  g_root = &cmd;
  while (g_root->get_parent()) g_root = g_root->get_parent();
  cmd.add_option("shell", a.shell, "bash or zsh")->required()->check(CLI::IsMember({"bash", "zsh"}));
}

}  // namespace

const std::vector<Command>& CompletionCommands() {
  static const std::vector<Command> kRows = {
      {"", "completion", "Print a shell completion script (bash or zsh)",
       "eval \"$(stratus completion bash)\"   # or add it to ~/.bashrc", CompletionFlags, Completion},
  };
  return kRows;
}

}  // namespace stratus::cli
