// What psgm::mpi needs of a communicator (docs/scaling.md): ranks, the
// node-local rank that picks a GPU, and collective error handling.
//
// psgm never calls MPI_Init: the application (or the psgm CLI) initialises
// MPI, then Kokkos, and passes its communicator to psgm::mpi's calls.
#pragma once

#include <psgm/core/Error.hpp>

#include <mpi.h>

#include <exception>
#include <functional>
#include <string>

namespace psgm::mpi {

/// Another rank of the communicator failed inside a collective psgm call;
/// the message names that rank and carries its message.
class RemoteError : public Error {
 public:
  using Error::Error;
};

/// MPI_Comm_rank / MPI_Comm_size, throwing psgm::Error if MPI fails.
int rank(MPI_Comm comm);
int size(MPI_Comm comm);

/// This rank's index among the ranks of `comm` that share its node
/// (MPI_Comm_split_type, MPI_COMM_TYPE_SHARED): on a node with G GPUs, rank
/// r takes GPU node_local_rank % G (psgm::RuntimeOptions::device_id).
int node_local_rank(MPI_Comm comm);

/// The GPU this rank should use (psgm::RuntimeOptions::device_id, before
/// Kokkos is initialised): node_local_rank(comm) modulo the GPUs the node
/// has, for a Kokkos with CUDA or HIP; -1 (Kokkos' default) otherwise or
/// when no GPU is visible. Collective.
int device_id(MPI_Comm comm);

/// Runs `work` on every rank of `comm`, then agrees on the outcome: when it
/// threw on any rank, the lowest such rank broadcasts its message and every
/// rank throws (the failing one its own exception, the others RemoteError
/// "<what>: rank k of n failed: <message>"), so that no rank waits forever
/// in a later collective call. Collective: every rank must call it.
/// `agreed`, when given and true after `work` threw, says that `work`
/// agreed on its failure already (with agree(), as CollectiveOutput does):
/// the exception is then rethrown without a second agreement.
void collective(MPI_Comm comm, std::string const& what, std::function<void()> const& work,
                std::function<bool()> const& agreed = {});

/// The agreement collective() ends with, for work that agrees at several
/// points (each rank passes its failure, or null, and a state >= 0): when
/// any rank failed, as collective(). Else returns the smallest state. A rank
/// that failed inside collective() answers any of these agreements.
int agree(MPI_Comm comm, std::string const& what, std::exception_ptr failure, int state = 0);

}  // namespace psgm::mpi
