//                 psgm example 07: psgm inside an MPI application
//
// Build: see examples/01_porosity.cpp; needs psgm built with
// -DPSGM_ENABLE_MPI=ON (the example is skipped otherwise).
// Run:
//     mpirun -np 2 build-examples/07_mpi [out-prefix] [steps]
//     build-examples/07_mpi ex07 20          # one process works too
//
// What it shows: an application that owns MPI calls psgm's workflow on a
// communicator of its own (docs/scaling.md).
//   1. the application initialises MPI, then Kokkos (psgm never calls
//      MPI_Init), each rank on the GPU of its node-local rank;
//   2. it gives psgm its own communicator (a duplicate of MPI_COMM_WORLD, as
//      a library should get), so psgm's messages never meet the application's;
//   3. psgm::mpi::generate: the ranks solve one block of the PDE ensembles
//      each, into one data set whose content sha256 does not depend on the
//      rank count;
//   4. psgm::mpi::train: data-parallel training of a small native network
//      in the reproducible mode (the same weights for any rank count); rank 0
//      writes the model.
#include <psgm/mpi/DataParallel.hpp>
#include <psgm/mpi/Generate.hpp>
#include <psgm/psgm.hpp>

#include <mpi.h>

#include <cstdio>
#include <cstdlib>
#include <string>

int main(int argc, char* argv[]) {
  // 1. MPI first, then Kokkos on this rank's GPU (Kokkos' default without one).
  MPI_Init(&argc, &argv);
  int status = EXIT_FAILURE;
  {
    // 2. psgm's own communicator.
    MPI_Comm comm;
    MPI_Comm_dup(MPI_COMM_WORLD, &comm);
    int const rank = psgm::mpi::rank(comm), ranks = psgm::mpi::size(comm);
    psgm::RuntimeOptions runtime;
    runtime.device_id = psgm::mpi::device_id(comm);
    psgm::ScopeGuard kokkos(runtime);

    std::string const prefix = argc > 1 ? argv[1] : "ex07";
    std::int64_t const steps = argc > 2 ? std::atoll(argv[2]) : 20;
    try {
      // 3. A small data set, its realisations shared by the ranks.
      psgm::workflow::GenerateOptions generate;
      generate.pde.N = 32;
      generate.conditions =
          psgm::pde::random_conditions(psgm::pde::ConditionRanges::reference(generate.pde.L), 8, 7);
      generate.realisations = 6;
      generate.seed = 7;
      generate.output = prefix + ".data.h5";
      generate.writer.overwrite = true;
      auto const g = psgm::mpi::generate(Kokkos::DefaultExecutionSpace{}, comm, generate);
      if (rank == 0)
        std::printf("%d rank(s): %lld realisations (%s) -> %s, content sha256 %s\n", ranks,
                    static_cast<long long>(g.plan.total), psgm::workflow::status_summary(g.status_counts).c_str(),
                    generate.output.c_str(), psgm::io::DatasetReader(generate.output).content_sha256().c_str());

      // 4. Data-parallel training; every rank gets the same summary.
      psgm::score::TrainerOptions options;
      options.data_path = generate.output;
      options.output_path = prefix + ".model.h5";
      options.architecture.width = 8;
      options.architecture.num_blocks = 1;
      options.seed = 7;
      options.batch_size = 16;
      options.steps = steps;
      options.learning_rate = 2e-3;
      options.validate_every = steps;
      using Model = psgm::score::TrainableModel<psgm::score::Native<Kokkos::DefaultHostExecutionSpace>, float>;
      psgm::mpi::DataParallelOptions parallel;
      parallel.reduction = psgm::mpi::GradientReduction::reproducible;
      auto const summary = psgm::mpi::train<Model>(Kokkos::DefaultHostExecutionSpace{}, comm, options, {}, parallel);
      if (rank == 0)
        std::printf("trained %lld steps on %d rank(s): final loss %.6g, validation loss %.6g -> %s\n",
                    static_cast<long long>(summary.steps), ranks, summary.final_loss, summary.best_validation_loss,
                    options.output_path.c_str());
      status = summary.finished ? EXIT_SUCCESS : EXIT_FAILURE;
    } catch (std::exception const& e) {
      // psgm::mpi's calls throw on every rank alike (psgm::mpi::collective):
      // each rank can clean up and leave, no rank waits for another.
      std::fprintf(stderr, "rank %d: %s\n", rank, e.what());
    }
    MPI_Comm_free(&comm);
  }  // Kokkos ends here, before MPI
  MPI_Finalize();
  return status;
}
