#pragma once
/// @file alphareq.hpp
/// Umbrella header: everything a user of alphareq needs.
///
/// α-ReQ: the decay coefficient α of the eigenspectrum λ_i ∝ i^(−α) of a layer's feature
/// covariance measures representation quality without labels (α near 1 generalises well).

#include <alphareq/accumulator.hpp>
#include <alphareq/alpha.hpp>
#include <alphareq/error.hpp>
#include <alphareq/matrix_view.hpp>
#include <alphareq/npy.hpp>
#include <alphareq/plot.hpp>
#include <alphareq/probe.hpp>
#include <alphareq/regression_experiment.hpp>
#include <alphareq/selection.hpp>
#include <alphareq/spectrum.hpp>
#include <alphareq/synthetic.hpp>
#include <alphareq/version.hpp>
