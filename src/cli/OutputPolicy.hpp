// The output policy every psgm command follows (docs/reliability.md), in one
// place:
//
//   * an output that exists is never replaced without --overwrite;
//   * an output that is also one of the run's inputs is refused, even with
//     --overwrite;
//   * --overwrite replaces only files psgm itself wrote: an HDF5 file with
//     one of the formats the output may have, or a file listed in the
//     manifest (.psgm-manifest) of an output directory psgm writes into;
//   * the check runs after the run's configuration has been validated and
//     before any work, so a refused run leaves every file as it was.
//
// A command states its inputs and outputs on an OutputPolicy and calls
// check(); directory outputs (psgm evaluate, psgm pipeline) record what they
// wrote in the directory's Manifest.
#pragma once

#include <psgm/core/Format.hpp>

#include <filesystem>
#include <string>
#include <vector>

namespace psgm::cli {

/// <dir>/.psgm-manifest: the files psgm wrote into an output directory, one
/// path relative to it per line. --overwrite removes or replaces what it
/// lists and nothing else.
class Manifest {
 public:
  static constexpr char const* file_name = ".psgm-manifest";
  explicit Manifest(std::filesystem::path directory);
  /// `file`: absolute, or relative to the current directory (not the manifest's).
  bool lists(std::filesystem::path const& file) const;
  std::vector<std::string> const& entries() const { return entries_; }
  /// Records files (absolute, or relative to the current directory) and rewrites the
  /// manifest atomically; creates the directory when needed.
  void add(std::vector<std::string> const& files);
  /// Removes every listed file that exists (never a folder with something
  /// unlisted in it: listed files' folders go only when they end up empty)
  /// and empties the manifest. Returns what it removed.
  std::vector<std::string> remove_listed();

 private:
  void write() const;
  std::string relative(std::filesystem::path const& file) const;
  std::filesystem::path directory_;
  std::vector<std::string> entries_;
};

class OutputPolicy {
 public:
  /// `command` names the command in messages ("psgm train").
  OutputPolicy(std::string command, bool overwrite);
  /// A file the run reads (ignored when empty).
  void input(std::string const& path, std::string const& what);
  /// A file the run writes. `formats`: the psgm file formats ("psgm-model",
  /// ...) an existing file must have for --overwrite to replace it (empty:
  /// only a file listed in its directory's manifest may be replaced).
  /// `own_state`: the file is the run's own state that it continues (a
  /// resumed run's checkpoint and model): replaced without --overwrite, but
  /// still only when it has one of `formats`.
  void output(std::string const& path, std::string const& what, std::vector<std::string> formats,
              bool own_state = false);
  /// Throws IoError naming the first output the policy refuses.
  void check() const;

 private:
  struct File {
    std::string path, what;
    std::vector<std::string> formats;
    bool own_state = false;
  };
  std::string command_;
  bool overwrite_;
  std::vector<File> inputs_, outputs_;
};

/// Refuses (IoError, with both numbers) an output of about `bytes` that the
/// free space of its directory's file system cannot hold.
void require_disk_space(std::string const& command, std::string const& output, double bytes);
/// "12.3 MiB", "4.5 TiB" (psgm/core/Format.hpp)
using psgm::format_mib;

/// Whether two paths name the same file (the same inode when both exist,
/// else the same normalised absolute path).
bool same_file(std::string const& a, std::string const& b);

}  // namespace psgm::cli
