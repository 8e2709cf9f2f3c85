package autograd

// SetConvColBudget sets the im2col budget (in values) and returns the old
// one, so that tests can force convolutions into many small chunks.
func SetConvColBudget(n int) int {
	old := convColBudget
	convColBudget = n
	return old
}
