// What kind of psgm file a path holds, and the hidden temporary files that
// killed runs leave behind (docs/reliability.md). Used by the command line's
// output policy: --overwrite replaces only files psgm itself wrote.
#pragma once

#include <string>
#include <vector>

namespace psgm::io {

/// The root `format` attribute of an HDF5 file psgm wrote ("psgm-dataset",
/// "psgm-model", "psgm-evaluation"), or "" when `path` does not exist, is not
/// an HDF5 file, cannot be read or carries no such attribute. Never throws.
std::string file_format(std::string const& path);

/// The hidden temporary files psgm's atomic writers create beside their
/// target (".<name>.partial-<pid>-<n>", ".<name>.tmp-<pid>-<n>") found in
/// `directory` (not recursively), sorted. A run that was killed (SIGKILL, a
/// power cut) cannot remove its own; `psgm info --partial DIR` lists them.
std::vector<std::string> find_partial_files(std::string const& directory);

}  // namespace psgm::io
