package synth

// category is a built-in category: its surface, look and defects.
type category struct {
	name, desc string
	ch         int // 1: grey, 3: RGB
	look       look
	newScene   func(r *rng, size int) scene
	defects    []*defect
	holeColour [3]float32   // what shows through holes and cuts
	stainTints [][3]float32 // multiplicative stain colours
	// scratchBright is the probability of a bright (scraped) scratch
	// rather than a dark (scored) one.
	scratchBright float32
}

// defect is a defect type.
type defect struct {
	name, desc string
	make       func(e *env, r *rng) stroke
}

var (
	defScratch = &defect{"scratch", "thin curved bright or dark line, tapering at its ends", scratch}
	defHole    = &defect{"hole", "dark ragged pit with a lit and shadowed rim", hole}
	defStain   = &defect{"stain", "soft-edged discoloured blotch with a faint tide line", stain}
	defCut     = &defect{"cut", "slit through the weave: a dark gap with frayed lips", cut}
	defCrack   = &defect{"crack", "dark jagged split along the grain, widest in the middle", crack}
	defMissing = &defect{"missing_print", "ragged patch where the ink did not transfer", missingPrint}
)

// registry lists the built-in categories in their canonical order.
var registry = []*category{
	{
		name:          "brushed_metal",
		desc:          "grey brushed steel: anisotropic streaks, a broad sheen band, lighting gradient, sensor noise",
		ch:            1,
		look:          look{gain: [2]float32{0.9, 1.1}, gradient: 0.25, vignette: 0.15, blotch: 0.04, sigma: [2]float32{0.012, 0.022}},
		newScene:      newMetal,
		defects:       []*defect{defScratch, defHole, defStain},
		holeColour:    [3]float32{0.15, 0.15, 0.15},
		stainTints:    [][3]float32{{0.62, 0.62, 0.64}, {0.85, 0.55, 0.35}},
		scratchBright: 0.6,
	},
	{
		name:          "woven_fabric",
		desc:          "plain-weave cloth: round threads with jittered thickness and brightness, slight waviness",
		ch:            3,
		look:          look{gain: [2]float32{0.9, 1.1}, gradient: 0.2, vignette: 0.2, blotch: 0.05, sigma: [2]float32{0.01, 0.02}},
		newScene:      newFabric,
		defects:       []*defect{defHole, defStain, defCut},
		holeColour:    [3]float32{0.07, 0.06, 0.05},
		stainTints:    [][3]float32{{0.62, 0.45, 0.30}, {0.50, 0.50, 0.56}},
		scratchBright: 0.5,
	},
	{
		name:          "printed_grid",
		desc:          "printed sheet: black grid, barcodes, text and rings plus red marks on paper; misregistration, lighting",
		ch:            3,
		look:          look{gain: [2]float32{0.95, 1.08}, gradient: 0.15, vignette: 0.12, blotch: 0.03, sigma: [2]float32{0.008, 0.016}},
		newScene:      newPrint,
		defects:       []*defect{defMissing, defScratch, defStain},
		holeColour:    [3]float32{0.10, 0.10, 0.10},
		stainTints:    [][3]float32{{0.88, 0.70, 0.42}, {0.62, 0.62, 0.70}},
		scratchBright: 0.3,
	},
	{
		name:          "wood",
		desc:          "planed wood: warped growth rings, fibres and pores",
		ch:            3,
		look:          look{gain: [2]float32{0.9, 1.1}, gradient: 0.2, vignette: 0.15, blotch: 0.04, sigma: [2]float32{0.01, 0.018}},
		newScene:      newWood,
		defects:       []*defect{defScratch, defCrack, defHole},
		holeColour:    [3]float32{0.16, 0.09, 0.05},
		stainTints:    [][3]float32{{0.70, 0.60, 0.55}},
		scratchBright: 0.7,
	},
}

func lookup(name string) *category {
	for _, c := range registry {
		if c.name == name {
			return c
		}
	}
	return nil
}

func (c *category) defect(name string) *defect {
	for _, d := range c.defects {
		if d.name == name {
			return d
		}
	}
	return nil
}

func categoryNames() []string {
	names := make([]string, len(registry))
	for i, c := range registry {
		names[i] = c.name
	}
	return names
}
