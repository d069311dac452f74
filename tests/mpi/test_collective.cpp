// psgm::mpi::collective under mpirun (run by ctest at 2 ranks): when one rank
// throws, every rank throws, the failing one its own exception and the
// others RemoteError naming that rank and carrying its message; when none
// throws, none does; agree() (the agreement psgm::mpi::CollectiveOutput
// makes before each collective write) answers a rank that failed inside
// collective() and returns the smallest state otherwise; and
// node_local_rank is a rank of this node.
#include <psgm/mpi/Comm.hpp>

#include <mpi.h>

#include <cstdio>
#include <functional>
#include <string>

namespace {
int failures = 0;
void check(bool ok, std::string const& what) {
  if (!ok) ++failures;
  std::printf("%s %s\n", ok ? "ok  " : "FAIL", what.c_str());
}

/// What one rank saw of a collective step in which rank `failing` threw an
/// IoError: the failing rank its own exception, the others RemoteError with
/// the message `expected`.
void check_one_failure(std::function<void()> const& step, int rank, int failing, std::string const& expected,
                       std::string const& label) {
  std::string seen;
  bool remote = false, own = false;
  try {
    step();
  } catch (psgm::mpi::RemoteError const& e) {
    remote = true;
    seen = e.what();
  } catch (psgm::IoError const& e) {
    own = true;
    seen = e.what();
  }
  std::string const who = "rank " + std::to_string(rank) + ": " + label;
  if (rank == failing)
    check(own, who + "the failing rank gets its own exception back: " + seen);
  else
    check(remote && seen == expected, who + "the others get RemoteError '" + expected + "', got '" + seen + "'");
}
}  // namespace

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  MPI_Comm const comm = MPI_COMM_WORLD;
  int const rank = psgm::mpi::rank(comm), n = psgm::mpi::size(comm);
  std::string const who = "rank " + std::to_string(rank) + ": ";

  bool threw = false;
  try {
    psgm::mpi::collective(comm, "nothing fails", [] {});
  } catch (...) {
    threw = true;
  }
  check(!threw, who + "no rank fails: no rank throws");

  int const failing = n - 1;
  check_one_failure(
      [&] {
        psgm::mpi::collective(comm, "test step", [&] {
          if (rank == failing) throw psgm::IoError("cannot write 'part" + std::to_string(rank) + "'");
        });
      },
      rank, failing,
      "test step: rank " + std::to_string(failing) + " of " + std::to_string(n) + " failed: cannot write 'part" +
          std::to_string(failing) + "'",
      "");

  // agree(): no failure gives the smallest state
  int const smallest = psgm::mpi::agree(comm, "states", nullptr, rank == 0 ? 1 : 0);
  check(smallest == (n > 1 ? 0 : 1), who + "agree returns the smallest state, got " + std::to_string(smallest));

  // The failing rank fails inside collective() while the others are in a
  // later agree() of their own (as a rank in its batches is when another
  // fails before it reaches the writer): they get its message, and their
  // own collective() (told by `agreed`) does not wait for a second round.
  bool agreed = false;
  check_one_failure(
      [&] {
        psgm::mpi::collective(
            comm, "outer",
            [&] {
              if (rank == failing) throw psgm::IoError("rank " + std::to_string(rank) + " stops early");
              try {
                psgm::mpi::agree(comm, "inner step", nullptr, 0);
              } catch (psgm::mpi::RemoteError const&) {
                agreed = true;
                throw;
              }
            },
            [&] { return agreed; });
      },
      rank, failing,
      "inner step: rank " + std::to_string(failing) + " of " + std::to_string(n) + " failed: rank " +
          std::to_string(failing) + " stops early",
      "agree: ");

  int const local = psgm::mpi::node_local_rank(comm);
  check(local >= 0 && local < n,
        who + "node_local_rank " + std::to_string(local) + " in [0, " + std::to_string(n) + ")");
  check(psgm::mpi::device_id(comm) == -1 || psgm::mpi::device_id(comm) >= 0, who + "device_id");

  int all = 0;
  MPI_Allreduce(&failures, &all, 1, MPI_INT, MPI_SUM, comm);
  MPI_Finalize();
  return all == 0 ? 0 : 1;
}
