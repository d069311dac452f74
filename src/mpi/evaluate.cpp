// psgm::mpi::evaluate's host side (include/psgm/mpi/Evaluate.hpp): the
// per-condition results of every rank's block, packed into bytes, gathered
// on every rank and joined; rank 0 writes the report.
#include <psgm/core/Error.hpp>
#include <psgm/core/KokkosCompat.hpp>
#include <psgm/mpi/Evaluate.hpp>

#include <climits>
#include <cstring>
#include <optional>
#include <type_traits>

namespace psgm::mpi::Impl {
namespace {

// One list of fields per type, read by Writer and filled by Reader, so that
// packing and unpacking cannot disagree. Every field of ConditionEvaluation
// is listed: the report rank 0 writes from them must be the one-process
// run's (tests/mpi/test_mpi_evaluate.py compares them byte for byte).
template <class A, class T>
void fields(A& a, T& p, std::enable_if_t<std::is_same_v<std::remove_const_t<T>, stats::Proportion>, int> = 0) {
  a(p.successes, p.trials, p.estimate, p.lower, p.upper, p.confidence);
}
template <class A, class T>
void fields(A& a, T& m, std::enable_if_t<std::is_same_v<std::remove_const_t<T>, stats::FieldMetrics>, int> = 0) {
  a(m.mean_error, m.spread_error, m.coverage, m.wasserstein, m.energy_distance, m.energy_p_value);
}
template <class A, class T>
void fields(A& a, T& p, std::enable_if_t<std::is_same_v<std::remove_const_t<T>, stats::EnsembleProfile>, int> = 0) {
  a(p.num_samples, p.mean, p.stddev, p.lower, p.upper);
}
template <class A, class T>
void fields(A& a, T& q,
            std::enable_if_t<std::is_same_v<std::remove_const_t<T>, stats::QuantityOfInterest>, int> = 0) {
  a(q.c_crit, q.c_crit_from_data, q.pde, q.model, q.floor);
}
template <class A, class T>
void fields(A& a, T& c,
            std::enable_if_t<std::is_same_v<std::remove_const_t<T>, stats::EnsembleComparison>, int> = 0) {
  a(c.num_points, c.channels, c.model, c.floor, c.has_qoi, c.qoi, c.pde_profile, c.model_profile, c.floor_profile,
    c.pinned, c.wasserstein_model, c.wasserstein_floor, c.coverage_model, c.coverage_floor);
}
template <class A, class T>
void fields(A& a, T& c, std::enable_if_t<std::is_same_v<std::remove_const_t<T>, pde::Condition>, int> = 0) {
  a(c.l, c.U0, c.F_right);
}
template <class A, class T>
void fields(A& a, T& e,
            std::enable_if_t<std::is_same_v<std::remove_const_t<T>, stats::ConditionEvaluation>, int> = 0) {
  a(e.condition, e.condition_index, e.comparison, e.baseline, e.condition_values, e.condition_names,
    e.condition_units);
}

/// Appends values to a byte buffer (the ranks are one program on one kind
/// of machine: native byte order).
struct Writer {
  std::vector<char> bytes;

  template <class... T>
  void operator()(T const&... values) {
    (put(values), ...);
  }
  void raw(void const* data, std::size_t size) {
    auto const* p = static_cast<char const*>(data);
    bytes.insert(bytes.end(), p, p + size);
  }
  template <class T>
  void put(T const& value) {
    if constexpr (std::is_arithmetic_v<T>)
      raw(&value, sizeof value);
    else
      fields(*this, value);
  }
  void put(std::string const& s) {
    put(std::uint64_t(s.size()));
    raw(s.data(), s.size());
  }
  template <class T>
  void put(std::vector<T> const& v) {
    put(std::uint64_t(v.size()));
    for (auto const& e : v) put(e);
  }
  template <class T>
  void put(std::optional<T> const& v) {
    put(v.has_value());
    if (v) put(*v);
  }
};

/// Reads back what Writer wrote.
struct Reader {
  char const* at;
  char const* end;

  template <class... T>
  void operator()(T&... values) {
    (get(values), ...);
  }
  void raw(void* data, std::size_t size) {
    require(std::size_t(end - at) >= size, "psgm::mpi::evaluate: internal error: a rank's packed results end early");
    std::memcpy(data, at, size);
    at += size;
  }
  template <class T>
  void get(T& value) {
    if constexpr (std::is_arithmetic_v<T>)
      raw(&value, sizeof value);
    else
      fields(*this, value);
  }
  std::size_t get_size() {
    std::uint64_t n = 0;
    get(n);
    require(n <= std::uint64_t(end - at), "psgm::mpi::evaluate: internal error: a rank's packed results are corrupt");
    return std::size_t(n);
  }
  void get(std::string& s) {
    s.resize(get_size());
    raw(s.data(), s.size());
  }
  template <class T>
  void get(std::vector<T>& v) {
    v.resize(get_size());
    for (auto& e : v) get(e);
  }
  template <class T>
  void get(std::optional<T>& v) {
    bool has = false;
    get(has);
    v.reset();
    if (!has) return;
    v.emplace();
    get(*v);
  }
};

void check(int code, char const* call) {
  if (code == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  MPI_Error_string(code, text, &length);
  throw Error(std::string("psgm::mpi::evaluate: ") + call + " failed: " + std::string(text, length));
}

}  // namespace

stats::EvaluationResult allgather_evaluation(MPI_Comm comm, stats::EvaluationResult block) {
  ScopedRegion region("psgm::mpi::allgather_evaluation");
  // What differs between the ranks' results: their conditions and the
  // failed realisations of the floors they drew. The rest (grid,
  // provenance, the notes and counts of the checks every rank made on all
  // conditions) is the same on every rank.
  Writer w;
  w(block.dropped_floor_samples, block.conditions);
  // MPI counts are int: a block's results (a few C·N profiles per
  // condition) are far below 2 GiB, and refused if not.
  std::int64_t const mine = std::int64_t(w.bytes.size());
  int const n = size(comm);
  std::vector<std::int64_t> sizes(std::size_t(n), 0);
  check(MPI_Allgather(&mine, 1, MPI_INT64_T, sizes.data(), 1, MPI_INT64_T, comm), "MPI_Allgather");
  std::vector<int> counts(static_cast<std::size_t>(n)), offsets(static_cast<std::size_t>(n));
  std::int64_t total = 0;
  for (int r = 0; r < n; ++r) {
    offsets[std::size_t(r)] = int(total);
    counts[std::size_t(r)] = int(sizes[std::size_t(r)]);
    total += sizes[std::size_t(r)];
  }
  require(total <= INT_MAX, "psgm::mpi::evaluate: the ranks' results (", total,
          " bytes) exceed what one MPI_Allgatherv moves (2 GiB); evaluate fewer conditions per run "
          "(evaluate.max_conditions)");
  std::vector<char> all(static_cast<std::size_t>(total));
  check(MPI_Allgatherv(w.bytes.data(), int(mine), MPI_BYTE, all.data(), counts.data(), offsets.data(), MPI_BYTE, comm),
        "MPI_Allgatherv");

  stats::EvaluationResult out = std::move(block);
  out.conditions.clear();
  out.dropped_floor_samples = 0;
  Reader reader{all.data(), all.data() + all.size()};
  for (int r = 0; r < n; ++r) {
    std::int64_t dropped = 0;
    std::vector<stats::ConditionEvaluation> conditions;
    reader(dropped, conditions);
    out.dropped_floor_samples += dropped;
    for (auto& c : conditions) out.conditions.push_back(std::move(c));
  }
  require(std::int64_t(out.conditions.size()) == out.total_conditions, "psgm::mpi::evaluate: internal error: the ",
          n, " ranks evaluated ", out.conditions.size(), " of ", out.total_conditions, " conditions");
  out.first_condition = 0;
  stats::note_left_out_samples(out);
  return out;
}

std::vector<std::string> write_evaluation_outputs(MPI_Comm comm, workflow::EvaluateOptions const& options,
                                                  stats::EvaluationResult const& result) {
  ScopedRegion region("psgm::mpi::write_evaluation_outputs");
  collective(comm, "psgm::mpi::evaluate: writing the report into '" + options.output + "'", [&] {
    if (rank(comm) == 0)
      stats::write_evaluation_outputs(options.output, result, options.request.metrics, options.overwrite);
  });
  return stats::evaluation_output_paths(options.output);
}

}  // namespace psgm::mpi::Impl
