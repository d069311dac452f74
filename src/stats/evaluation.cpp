// Host parts of the file-to-file evaluation (docs/metrics.md §4–6): sample
// bookkeeping, condition matching, the output files, and the figures.
#include <psgm/Config.hpp>
#include <psgm/core/Error.hpp>
#include <psgm/stats/EvaluationFile.hpp>
#include <psgm/stats/impl/Evaluation_Impl.hpp>

#include "python_dirs.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace psgm::stats {
namespace Impl {

FileIndex index_file(io::DatasetReader const& reader) {
  FileIndex out;
  out.info = reader.info();
  std::size_t const M = static_cast<std::size_t>(out.info.num_conditions());
  out.ok.assign(M, {});
  out.dropped.assign(M, 0);
  std::vector<std::int64_t> const index = reader.condition_index();
  std::vector<SolveStatus> const status = reader.status();
  for (std::size_t s = 0; s < index.size(); ++s) {
    // The reader has checked 0 <= index < M.
    if (status[s] == SolveStatus::ok)
      out.ok[index[s]].push_back(std::int64_t(s));
    else
      ++out.dropped[index[s]];
  }
  return out;
}

void read_samples(io::DatasetReader const& reader, std::vector<std::int64_t> const& indices, host_fields out) {
  require(out.extent(0) >= indices.size(), "read_samples: buffer of ", out.extent(0), " samples for ",
          indices.size());
  std::size_t a = 0;
  while (a < indices.size()) {
    std::size_t b = a + 1;
    while (b < indices.size() && indices[b] == indices[b - 1] + 1) ++b;
    reader.read_fields(indices[a], Kokkos::subview(out, std::make_pair(a, b), Kokkos::ALL, Kokkos::ALL));
    a = b;
  }
}

std::int64_t find_condition(std::vector<pde::Condition> const& rows, pde::Condition const& c) {
  auto const close = [](double a, double b, double floor) {
    return std::fabs(a - b) <= 1e-9 * std::max({std::fabs(a), std::fabs(b), floor});
  };
  for (std::size_t i = 0; i < rows.size(); ++i)
    if (close(rows[i].l, c.l, 0.0) && close(rows[i].U0, c.U0, 1e-3) && close(rows[i].F_right, c.F_right, 1.0))
      return std::int64_t(i);
  return -1;
}

void require_same_grid(io::DatasetInfo const& a, io::DatasetInfo const& b) {
  require(a.num_points == b.num_points, "evaluation: '", a.path, "' has N = ", a.num_points, " grid points, '",
          b.path, "' has N = ", b.num_points, "; the ensembles must share one grid");
  for (int i = 0; i < a.num_points; ++i)
    require(std::fabs(a.x[i] - b.x[i]) <= 1e-12 * std::max(std::fabs(a.x[i]), std::fabs(b.x[i])),
            "evaluation: the grids of '", a.path, "' and '", b.path, "' differ at cell ", i, " (x = ", a.x[i],
            " and ", b.x[i], ")");
}

std::string describe(pde::Condition const& c) {
  std::ostringstream os;
  os.precision(6);
  os << "l = " << c.l << ", U0 = " << c.U0 << ", F_right = " << c.F_right;
  return os.str();
}

std::vector<double> condition_row(io::DatasetInfo const& info, std::int64_t m) {
  double const* row = info.condition(m);
  return {row, row + info.num_condition_columns()};
}

std::int64_t find_condition(io::DatasetInfo const& info, std::vector<double> const& values) {
  if (!info.conditions.empty() && values.size() == 3)
    return find_condition(info.conditions, pde::Condition{values[0], values[1], values[2]});
  int const K = info.num_condition_columns();
  if (int(values.size()) != K) return -1;
  for (std::int64_t m = 0; m < info.num_conditions(); ++m) {
    double const* row = info.condition(m);
    bool same = true;
    for (int k = 0; k < K && same; ++k)
      same = std::fabs(row[k] - values[k]) <= 1e-9 * std::max({std::fabs(row[k]), std::fabs(values[k]), 1e-3});
    if (same) return m;
  }
  return -1;
}

std::string describe(io::DatasetInfo const& info, std::vector<double> const& values) {
  if (!info.conditions.empty() && values.size() == 3) return describe(pde::Condition{values[0], values[1], values[2]});
  std::ostringstream os;
  os.precision(6);
  auto const& names = info.schema.conditions.names;
  for (std::size_t k = 0; k < values.size(); ++k)
    os << (k ? ", " : "") << (k < names.size() ? names[k] : "column " + std::to_string(k)) << " = " << values[k];
  return os.str();
}

}  // namespace Impl

void ConditionBlock::validate() const {
  require(count >= 1, "evaluation: condition block ", index, " of ", count, ": the block count must be >= 1");
  require(index >= 0 && index < count, "evaluation: condition block ", index, " of ", count,
          ": the index must lie in 0 ... ", count - 1);
}

std::pair<std::int64_t, std::int64_t> ConditionBlock::range(std::int64_t total) const {
  validate();
  std::int64_t const base = total / count, extra = total % count;
  std::int64_t const first = base * index + std::min(index, extra);
  return {first, first + base + (index < extra ? 1 : 0)};
}

void note_left_out_samples(EvaluationResult& result) {
  auto const note = [&](std::int64_t count, char const* what) {
    if (count > 0) result.notes.push_back(std::to_string(count) + " " + what + " with status != ok were left out");
  };
  note(result.dropped_pde_samples, "PDE samples");
  note(result.dropped_model_samples, "model samples");
  note(result.dropped_baseline_samples, "baseline samples");
  note(result.dropped_floor_samples, "noise-floor samples");
  result.provenance.notes = result.notes;
}

std::vector<std::string> evaluation_output_paths(std::string const& directory) {
  std::filesystem::path const dir(directory);
  std::vector<std::string> out;
  for (char const* name : {"metrics.md", "metrics.csv", "qoi.csv", "evaluation.h5"}) out.push_back((dir / name).string());
  return out;
}

std::vector<std::string> write_evaluation_outputs(std::string const& directory, EvaluationResult const& result,
                                                  MetricsOptions const& options, bool overwrite) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(directory, ec);
  require<IoError>(fs::is_directory(directory), "evaluation: cannot create the output directory '", directory,
                   "'", ec ? ": " + ec.message() : std::string());
  fs::path const dir(directory);
  // Refuse before writing anything, so a refused run leaves no mixed outputs.
  for (auto const& p : evaluation_output_paths(directory))
    require<IoError>(overwrite || !fs::exists(p), "evaluation: '", p,
                     "' exists; choose another output directory or allow overwriting (--overwrite)");
  std::vector<std::string> written;
  // Written whole under a temporary name beside the target, then renamed
  // over it, as every psgm output is: a killed run leaves no truncated table.
  static std::atomic<unsigned> counter{0};
  auto const text = [&](char const* name, std::string const& content) {
    fs::path const p = dir / name;
    fs::path const tmp = dir / ("." + std::string(name) + ".partial-" + std::to_string(::getpid()) + "-" +
                                std::to_string(counter++));
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << content;
    out.close();
    std::error_code rename_error;
    if (out) fs::rename(tmp, p, rename_error);
    if (!out || rename_error) {
      std::error_code ignored;
      fs::remove(tmp, ignored);
      throw IoError("evaluation: cannot write '" + p.string() + "'" +
                    (rename_error ? ": " + rename_error.message() : std::string()));
    }
    written.push_back(p.string());
  };
  text("metrics.md", metrics_markdown(result.conditions, options, result.provenance));
  text("metrics.csv", metrics_csv(result.conditions));
  text("qoi.csv", qoi_csv(result.conditions));
  std::string const h5 = (dir / "evaluation.h5").string();
  write_evaluation_file(h5, result.x, result.conditions, options, result.provenance, overwrite);
  written.push_back(h5);
  return written;
}

// ------------------------------------------------------------------ figures
namespace {

/// Runs argv (no shell), with MPLBACKEND=Agg; returns the exit status and
/// the combined stdout/stderr.
int run_process(std::vector<std::string> const& argv, std::string& output) {
  int pipefd[2];
  if (::pipe(pipefd) != 0) return -1;
  pid_t const pid = ::fork();
  if (pid < 0) {
    ::close(pipefd[0]);
    ::close(pipefd[1]);
    return -1;
  }
  if (pid == 0) {
    ::dup2(pipefd[1], STDOUT_FILENO);
    ::dup2(pipefd[1], STDERR_FILENO);
    ::close(pipefd[0]);
    ::close(pipefd[1]);
    ::setenv("MPLBACKEND", "Agg", 1);
    std::vector<char*> args;
    for (auto const& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execvp(args[0], args.data());
    ::_exit(127);
  }
  ::close(pipefd[1]);
  std::array<char, 4096> buf;
  ssize_t got;
  while ((got = ::read(pipefd[0], buf.data(), buf.size())) > 0) output.append(buf.data(), std::size_t(got));
  ::close(pipefd[0]);
  int status = 0;
  if (::waitpid(pid, &status, 0) < 0) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::string find_python() {
  if (char const* env = std::getenv("PSGM_PYTHON"); env && *env) return env;
  if (::access("/usr/bin/python3", X_OK) == 0) return "/usr/bin/python3";
  return "python3";
}

std::string find_script() {
  namespace fs = std::filesystem;
  std::vector<fs::path> candidates;
  if (char const* env = std::getenv("PSGM_PYTHON_DIR"); env && *env) candidates.emplace_back(env);
  for (char const* dir : Impl::built_in_python_dirs()) candidates.emplace_back(dir);
  for (auto const& dir : candidates) {
    fs::path const p = dir / "psgm" / "report_figures.py";
    if (fs::exists(p)) return p.string();
  }
  return {};
}

}  // namespace

FiguresResult draw_report_figures(std::string const& evaluation_file, std::string const& directory) {
  FiguresResult out;
  std::string const script = find_script();
  if (script.empty()) {
    out.message = "figures skipped: python/psgm/report_figures.py was not found (set PSGM_PYTHON_DIR to the "
                  "folder that holds psgm/report_figures.py)";
    return out;
  }
  std::string const python = find_python();
  std::string probe;
  int const rc = run_process({python, "-c", "import matplotlib, h5py, numpy"}, probe);
  if (rc != 0) {
    out.message = "figures skipped: " + python +
                  " cannot import matplotlib, h5py and numpy (Debian: apt-get install python3-matplotlib "
                  "python3-h5py; or set PSGM_PYTHON to an interpreter that has them)" +
                  (probe.empty() ? std::string() : ": " + probe.substr(0, probe.find('\n')));
    return out;
  }
  std::string log;
  int const code = run_process({python, script, evaluation_file, directory}, log);
  if (code != 0) {
    out.message = "figures failed: " + python + " " + script + " exited with status " + std::to_string(code) +
                  (log.empty() ? std::string() : ":\n" + log);
    return out;
  }
  // The script prints one "wrote <file>" line per figure.
  std::istringstream lines(log);
  for (std::string line; std::getline(lines, line);)
    if (line.rfind("wrote ", 0) == 0) out.files.push_back(line.substr(6));
  out.ran = true;
  out.message = "figures: " + std::to_string(out.files.size()) + " PNG files in " + directory;
  return out;
}

}  // namespace psgm::stats
