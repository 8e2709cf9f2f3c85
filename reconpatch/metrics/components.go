package metrics

// components labels the 8-connected components of the non-zero pixels of
// mask (w×h, row by row), as scipy.ndimage.label(mask, np.ones((3, 3)))
// does in the MVTec AD evaluation: lab[i] is 0 for a zero pixel and 1..k for
// a pixel of component k, numbered in raster order of each component's first
// pixel. sizes[k-1] is the pixel count of component k. lab and stack are
// scratch buffers, grown as needed and returned for reuse.
func components(mask []uint8, w, h int, lab []int32, stack []int32) (labOut []int32, sizes []uint32, stackOut []int32) {
	n := w * h
	if cap(lab) < n {
		lab = make([]int32, n)
	}
	lab = lab[:n]
	clear(lab)
	stack = stack[:0]
	var id int32
	for start := range n {
		if mask[start] == 0 || lab[start] != 0 {
			continue
		}
		id++
		lab[start] = id
		stack = append(stack, int32(start))
		var size uint32
		for len(stack) > 0 {
			i := int(stack[len(stack)-1])
			stack = stack[:len(stack)-1]
			size++
			x, y := i%w, i/w
			for dy := -1; dy <= 1; dy++ {
				yy := y + dy
				if yy < 0 || yy >= h {
					continue
				}
				for dx := -1; dx <= 1; dx++ {
					xx := x + dx
					if xx < 0 || xx >= w {
						continue
					}
					j := yy*w + xx
					if mask[j] != 0 && lab[j] == 0 {
						lab[j] = id
						stack = append(stack, int32(j))
					}
				}
			}
		}
		sizes = append(sizes, size)
	}
	return lab, sizes, stack
}
