// Package autogradtest holds the test helpers shared by the packages built
// on autograd: Check, a finite-difference gradient check of any function
// built on a Tape, against a float64 reference implementation or against
// the function itself; and the reader of the PyTorch fixture files that
// scripts/gen_autograd_fixtures.py writes (LoadFixture).
package autogradtest
