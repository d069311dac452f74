// psgm: uncertainty quantification with score-based generative models on Kokkos.
//
// The umbrella header: include it to get psgm's whole public API. Optional
// parts (HDF5 I/O, the LibTorch backend) are included when psgm was built with
// them (see psgm/Config.hpp).
#pragma once

#include <psgm/Config.hpp>
#include <psgm/core/Error.hpp>
#include <psgm/core/ExecutionSpaces.hpp>
#include <psgm/core/KokkosCompat.hpp>
#include <psgm/core/Runtime.hpp>
#include <psgm/core/Status.hpp>
#include <psgm/gp/CovarianceFactor.hpp>
#include <psgm/gp/PorosityModel.hpp>
#include <psgm/gp/PorositySampler.hpp>
#include <psgm/model/ConditionSchema.hpp>
#include <psgm/model/FilmCnnConfig.hpp>
#include <psgm/model/GaussianEmulator.hpp>
#include <psgm/model/ModelDescription.hpp>
#include <psgm/model/Normalization.hpp>
#include <psgm/model/Sde.hpp>
#include <psgm/model/TrainingRecord.hpp>
#include <psgm/model/Whitening.hpp>
#include <psgm/pde/Conditions.hpp>
#include <psgm/pde/ElectrodeParameters.hpp>
#include <psgm/pde/EnsembleSolver.hpp>
#include <psgm/posterior/GaussianPosterior.hpp>
#include <psgm/posterior/GuidedScore.hpp>
#include <psgm/posterior/Observations.hpp>
#include <psgm/posterior/PosteriorSampler.hpp>
#include <psgm/posterior/Reference.hpp>
#include <psgm/score/Backend.hpp>
#include <psgm/score/NativeScoreModel.hpp>
#include <psgm/sde/AnalyticScore.hpp>
#include <psgm/sde/DiffusionProcess.hpp>
#include <psgm/sde/Sampler.hpp>
#include <psgm/sde/SamplerConfig.hpp>
#include <psgm/stats/Binomial.hpp>
#include <psgm/stats/EnergyDistance.hpp>
#include <psgm/stats/Metrics.hpp>
#include <psgm/stats/Pointwise.hpp>
#include <psgm/stats/Report.hpp>
#include <psgm/workflow/EnsembleGenerator.hpp>
#include <psgm/workflow/Shard.hpp>
#if PSGM_HAS_HDF5
#include <psgm/stats/Evaluation.hpp>
#include <psgm/stats/EvaluationFile.hpp>
#include <psgm/io/Dataset.hpp>
#include <psgm/io/DatasetAttributes.hpp>
#include <psgm/io/PorosityFile.hpp>
#include <psgm/io/FileFormat.hpp>
#include <psgm/io/ModelFile.hpp>
#include <psgm/score/Trainer.hpp>
#include <psgm/score/NativeTrainableModel.hpp>
#include <psgm/workflow/Evaluate.hpp>
#include <psgm/workflow/EvaluatePosterior.hpp>
#include <psgm/workflow/Generate.hpp>
#include <psgm/workflow/Merge.hpp>
#endif
#if PSGM_HAS_TORCH
#include <psgm/torch/TorchScoreModel.hpp>
#endif
#if PSGM_HAS_TORCH && PSGM_HAS_HDF5
#include <psgm/torch/TorchTrainableModel.hpp>
#endif
