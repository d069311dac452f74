// The command line's output policy (OutputPolicy.hpp, docs/reliability.md).
#include "OutputPolicy.hpp"

#include <psgm/core/Error.hpp>
#include <psgm/io/FileFormat.hpp>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <unistd.h>

namespace psgm::cli {

namespace fs = std::filesystem;

bool same_file(std::string const& a, std::string const& b) {
  if (a.empty() || b.empty()) return false;
  std::error_code ec;
  if (fs::exists(a, ec) && fs::exists(b, ec)) {
    bool const eq = fs::equivalent(a, b, ec);
    if (!ec) return eq;
  }
  return fs::weakly_canonical(fs::absolute(a), ec) == fs::weakly_canonical(fs::absolute(b), ec);
}

void require_disk_space(std::string const& command, std::string const& output, double bytes) {
  std::error_code ec;
  fs::path dir = fs::absolute(output).parent_path();
  auto const info = fs::space(dir, ec);
  if (ec) return;  // the writer reports an unusable directory itself
  require<IoError>(bytes <= double(info.available), command, ": '", output, "' would take about ",
                   format_mib(bytes / 1048576.0), ", but its file system has ",
                   format_mib(double(info.available) / 1048576.0), " free");
}

// ------------------------------------------------------------------ Manifest
Manifest::Manifest(fs::path directory) : directory_(fs::absolute(std::move(directory))) {
  std::ifstream in(directory_ / file_name);
  std::string line;
  while (std::getline(in, line))
    if (!line.empty() && line[0] != '#' && std::find(entries_.begin(), entries_.end(), line) == entries_.end())
      entries_.push_back(line);
}

std::string Manifest::relative(fs::path const& file) const {
  fs::path const abs = fs::absolute(file);
  return abs.lexically_normal().lexically_relative(directory_.lexically_normal()).generic_string();
}

bool Manifest::lists(fs::path const& file) const {
  std::string const r = relative(file);
  return std::find(entries_.begin(), entries_.end(), r) != entries_.end();
}

void Manifest::add(std::vector<std::string> const& files) {
  for (auto const& f : files) {
    std::string const r = relative(f);
    require<IoError>(!r.empty() && r.rfind("..", 0) != 0, "output manifest: '", f, "' lies outside '",
                     directory_.string(), "'");
    if (std::find(entries_.begin(), entries_.end(), r) == entries_.end()) entries_.push_back(r);
  }
  write();
}

void Manifest::write() const {
  std::error_code ec;
  fs::create_directories(directory_, ec);
  fs::path const target = directory_ / file_name;
  fs::path const tmp = directory_ / (std::string(file_name) + ".tmp-" + std::to_string(::getpid()));
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << "# files psgm wrote here; psgm --overwrite replaces or removes these and nothing else\n";
    for (auto const& e : entries_) out << e << '\n';
    out.close();
    require<IoError>(bool(out), "cannot write the output manifest '", tmp.string(), "'");
  }
  fs::rename(tmp, target, ec);
  require<IoError>(!ec, "cannot write the output manifest '", target.string(), "': ", ec.message());
}

std::vector<std::string> Manifest::remove_listed() {
  std::vector<std::string> removed;
  std::vector<fs::path> folders;
  std::error_code ec;
  for (auto const& e : entries_) {
    fs::path const p = directory_ / e;
    if (fs::is_regular_file(fs::symlink_status(p, ec)) || fs::is_symlink(fs::symlink_status(p, ec))) {
      if (fs::remove(p, ec)) removed.push_back(p.string());
    }
    for (fs::path f = p.parent_path(); f != directory_ && f.string().size() > directory_.string().size();
         f = f.parent_path())
      folders.push_back(f);
  }
  // Folders that held listed files go only when nothing else is left in them.
  std::sort(folders.begin(), folders.end(), [](fs::path const& a, fs::path const& b) {
    return a.string().size() > b.string().size();
  });
  for (auto const& f : folders)
    if (fs::is_directory(f, ec) && fs::is_empty(f, ec)) fs::remove(f, ec);
  entries_.clear();
  write();
  return removed;
}

// ------------------------------------------------------------------ OutputPolicy
OutputPolicy::OutputPolicy(std::string command, bool overwrite) : command_(std::move(command)), overwrite_(overwrite) {}

void OutputPolicy::input(std::string const& path, std::string const& what) {
  if (!path.empty()) inputs_.push_back({path, what, {}, false});
}

void OutputPolicy::output(std::string const& path, std::string const& what, std::vector<std::string> formats,
                          bool own_state) {
  outputs_.push_back({path, what, std::move(formats), own_state});
}

void OutputPolicy::check() const {
  // Temporary files that killed runs left where this run writes: reported
  // once per directory (a run that is still writing there has one too).
  std::vector<fs::path> dirs;
  for (auto const& out : outputs_) {
    fs::path const dir = fs::absolute(out.path).parent_path();
    if (std::find(dirs.begin(), dirs.end(), dir) != dirs.end()) continue;
    dirs.push_back(dir);
    auto const partial = io::find_partial_files(dir.string());
    if (!partial.empty())
      std::cerr << command_ << ": note: " << partial.size() << " temporary file(s) of interrupted or running psgm "
                << "runs in " << dir.string() << " (e.g. " << fs::path(partial.front()).filename().string()
                << "); list or remove them with psgm info --partial " << dir.string() << " [--remove-partial]\n";
  }
  for (auto const& out : outputs_) {
    for (auto const& in : inputs_)
      require<IoError>(!same_file(out.path, in.path), command_, ": the ", out.what, " '", out.path,
                       "' is also an input (the ", in.what, " '", in.path,
                       "'); choose another output (--overwrite never replaces an input)");
    for (auto const& other : outputs_)
      require<IoError>(&other == &out || !same_file(out.path, other.path), command_, ": the ", out.what, " and the ",
                       other.what, " are the same file '", out.path, "'");
    std::error_code ec;
    if (!fs::exists(fs::symlink_status(out.path, ec))) continue;
    require<IoError>(!fs::is_directory(out.path, ec), command_, ": the ", out.what, " '", out.path,
                     "' is a directory");
    require<IoError>(overwrite_ || out.own_state, command_, ": the ", out.what, " '", out.path,
                     "' already exists; pass --overwrite to replace it");
    // --overwrite (or continuing the run's own state) replaces only what psgm wrote.
    std::string const format = io::file_format(out.path);
    bool const psgm_format = !format.empty() && std::find(out.formats.begin(), out.formats.end(), format) !=
                                                    out.formats.end();
    fs::path const abs = fs::absolute(out.path);
    bool const listed = Manifest(abs.parent_path()).lists(abs);
    if (psgm_format || listed) continue;
    std::string expected;
    for (auto const& f : out.formats) expected += (expected.empty() ? "" : " or ") + f;
    std::string const why =
        !expected.empty() ? (format.empty() ? "is not a file psgm wrote (no psgm format attribute; expected a " +
                                                  expected + " file)"
                                            : "is a " + format + " file, not a " + expected + " file")
                          : std::string("is not listed in ") +
                                (abs.parent_path() / Manifest::file_name).string() + ", the files psgm wrote there";
    throw IoError(command_ + ": the " + out.what + " '" + out.path + "' exists and " + why +
                  "; --overwrite replaces only files psgm wrote: move it away yourself or choose another output");
  }
}

}  // namespace psgm::cli
