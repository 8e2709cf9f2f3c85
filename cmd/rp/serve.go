package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"image/png"
	"io"
	"log"
	"math"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/reconpatch/rp/reconpatch"
	"github.com/reconpatch/rp/reconpatch/imageio"
	"github.com/reconpatch/rp/reconpatch/render"
)

const serveUsage = `Usage: rp serve -model MODEL [-addr HOST:PORT] [-weights FILE] [-max-body SIZE] [-workers N] [-queue N] [-q]

Serves a model from rp train over HTTP.

  POST /v1/predict   body: one image (PNG, JPEG, GIF, BMP or TIFF; the
                     Content-Type is ignored, the format is sniffed)
                     query: threshold=T    image threshold (default: the model's)
                            map=1          add the anomaly map, a base64 16-bit
                                           grey PNG: score = pixel / map_scale
                                           (also include_map=true)
                            heatmap=1      add a base64 RGB heatmap PNG over the
                                           preprocessed image (as rp predict)
                     reply: {"score", "anomalous", "threshold", "map",
                             "map_scale", "heatmap"}; anomalous and threshold
                             are null without a threshold, map, map_scale and
                             heatmap are left out unless asked for
  GET  /healthz      {"status": "ok", "model", "backbone", ...}

Errors are JSON {"error": "..."}: 400 for a malformed image or query, 404,
405, 413 for a body over -max-body, 503 (with Retry-After) when the queue is
full, 504 when a request waits longer than -timeout.

Requests are scored by -workers goroutines fed by a queue of -queue waiting
requests; a worker scores the requests waiting together in one batch of up
to the model's batch size. The matrix products inside one prediction use
every core already, so one worker (the default) keeps the machine busy;
a second one only overlaps decoding and encoding with the products.

A client gets 10 s to send its request's headers and a minute for the
whole request (else a 400 or a closed connection); an idle connection is
closed after 2 minutes. A request holds its queue place while its body is
read and it waits and is scored, not while its reply is written.

SIGINT or SIGTERM stops accepting connections, finishes the requests under
way and exits 0. One line per request is logged on stderr unless -q.

Example:
  rp serve -model tile.rpm -addr 127.0.0.1:8080 &
  curl --data-binary @part.png 'http://127.0.0.1:8080/v1/predict?heatmap=1'

Flags:
`

// serveConfig is the configuration of an rp serve server.
type serveConfig struct {
	Addr      string
	ModelName string // reported by /healthz
	MaxBody   int64  // request body limit in bytes
	MaxPixels int    // decoded image limit (imageio.Decode)
	Workers   int    // model goroutines
	Queue     int    // requests that may wait for a worker
	// Timeout bounds how long a request waits for its prediction.
	Timeout time.Duration
	// ReadHeaderTimeout, ReadTimeout and IdleTimeout are http.Server's;
	// its WriteTimeout is Timeout plus ReadTimeout plus a margin.
	ReadHeaderTimeout, ReadTimeout, IdleTimeout time.Duration
	// ShutdownTimeout bounds the wait for requests under way at shutdown.
	ShutdownTimeout time.Duration
	Log             io.Writer // one line per request; nil: none
}

// defaultServeConfig is the configuration the flags start from.
func defaultServeConfig() serveConfig {
	return serveConfig{
		Addr:              "127.0.0.1:8080",
		MaxBody:           32 << 20,
		MaxPixels:         imageio.DefaultMaxPixels / 4,
		Workers:           1,
		Queue:             16,
		Timeout:           2 * time.Minute,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       time.Minute,
		IdleTimeout:       2 * time.Minute,
		ShutdownTimeout:   3 * time.Minute,
	}
}

// predictFunc scores preprocessed images; (*reconpatch.Model).PredictImages
// in rp serve, a stand-in in tests.
type predictFunc func(ctx context.Context, imgs []imageio.RGB) ([]reconpatch.Prediction, error)

// predictReply is the JSON answer of POST /v1/predict.
type predictReply struct {
	Score     float32  `json:"score"`
	Anomalous *bool    `json:"anomalous"` // null without a threshold
	Threshold *float64 `json:"threshold"`
	Map       string   `json:"map,omitempty"` // base64 16-bit PNG
	MapScale  *float32 `json:"map_scale,omitempty"`
	Heatmap   string   `json:"heatmap,omitempty"` // base64 RGB PNG
}

// serveJob is one queued prediction.
type serveJob struct {
	ctx  context.Context  // the request's: a job whose client left is skipped
	img  imageio.RGB      // decoded and preprocessed
	done chan serveResult // buffered: the worker never blocks on it
}

type serveResult struct {
	pred reconpatch.Prediction
	err  error
}

// server is the HTTP inference service of one model.
type server struct {
	cfg     serveConfig
	m       *reconpatch.Model // metadata: input size, statistics, options
	predict predictFunc
	pre     imageio.Preprocess
	batch   int
	addr    net.Addr
	logger  *log.Logger

	// slots admits requests: one per worker plus one per queue place,
	// taken before the body is read, so that memory stays bounded too.
	slots chan struct{}
	jobs  chan serveJob
	quit  chan struct{} // closed when the HTTP server has stopped: workers exit
}

// newServer makes the service of m; predict scores preprocessed images.
func newServer(cfg serveConfig, m *reconpatch.Model, predict predictFunc) (*server, error) {
	if cfg.Workers < 1 || cfg.Queue < 0 || cfg.MaxBody < 1 {
		return nil, fmt.Errorf("workers %d must be ≥ 1, queue %d ≥ 0 and max-body %d ≥ 1", cfg.Workers, cfg.Queue, cfg.MaxBody)
	}
	s := &server{
		cfg: cfg, m: m, predict: predict,
		pre:   imageio.Preprocess{Resize: m.Options.Resize, Crop: m.Options.Crop, Stretch: m.Options.Stretch, MaxPixels: cfg.MaxPixels},
		batch: max(m.Options.Batch, 1),
		slots: make(chan struct{}, cfg.Workers+cfg.Queue),
		jobs:  make(chan serveJob, cfg.Workers+cfg.Queue),
		quit:  make(chan struct{}),
	}
	if cfg.Log != nil {
		s.logger = log.New(cfg.Log, "", log.LstdFlags)
	}
	return s, nil
}

// startServe listens on cfg.Addr and serves m until ctx is cancelled; then
// it stops accepting connections, finishes the requests under way, and
// sends nil (or the error that ended it) on done. It returns the address
// it listens on (useful with port 0).
func startServe(ctx context.Context, cfg serveConfig, m *reconpatch.Model, predict predictFunc) (addr net.Addr, done <-chan error, err error) {
	s, done, err := startServer(ctx, cfg, m, predict)
	if err != nil {
		return nil, nil, err
	}
	return s.addr, done, nil
}

// startServer is startServe returning the server (for tests).
func startServer(ctx context.Context, cfg serveConfig, m *reconpatch.Model, predict predictFunc) (*server, <-chan error, error) {
	s, err := newServer(cfg, m, predict)
	if err != nil {
		return nil, nil, err
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, nil, err
	}
	s.addr = ln.Addr()
	hs := &http.Server{
		Handler:           s,
		ReadHeaderTimeout: cfg.ReadHeaderTimeout,
		ReadTimeout:       cfg.ReadTimeout,
		WriteTimeout:      cfg.ReadTimeout + cfg.Timeout + 10*time.Second,
		IdleTimeout:       cfg.IdleTimeout,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          log.New(io.Discard, "", 0),
	}
	if s.logger != nil {
		hs.ErrorLog = s.logger
	}
	var wg sync.WaitGroup
	for range cfg.Workers {
		wg.Go(s.work)
	}
	ch := make(chan error, 1)
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()
	go func() {
		var err error
		select {
		case err = <-served: // failed by itself
		case <-ctx.Done():
			sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
			err = hs.Shutdown(sctx) // waits for the handlers, hence their jobs
			cancel()
			if err != nil {
				hs.Close()
				err = fmt.Errorf("shutdown: %w", err)
			}
			<-served
		}
		close(s.quit)
		wg.Wait()
		ch <- err
	}()
	return s, ch, nil
}

// work runs one worker: it takes a job, with the jobs waiting behind it up
// to a batch, and scores them with one predict call.
func (s *server) work() {
	for {
		var batch []serveJob
		select {
		case j := <-s.jobs:
			batch = append(batch, j)
		case <-s.quit:
			return
		}
	more:
		for len(batch) < s.batch {
			select {
			case j := <-s.jobs:
				batch = append(batch, j)
			default:
				break more
			}
		}
		live := batch[:0]
		for _, j := range batch {
			if err := j.ctx.Err(); err != nil {
				j.done <- serveResult{err: err}
				continue
			}
			live = append(live, j)
		}
		s.run(live)
	}
}

// run scores jobs in one call, or one by one if the call fails, so that a
// bad image fails alone.
func (s *server) run(jobs []serveJob) {
	if len(jobs) == 0 {
		return
	}
	imgs := make([]imageio.RGB, len(jobs))
	for i, j := range jobs {
		imgs[i] = j.img
	}
	preds, err := s.predict(context.Background(), imgs)
	if err == nil && len(preds) != len(jobs) {
		err = fmt.Errorf("%d predictions for %d images", len(preds), len(jobs))
	}
	if err != nil && len(jobs) > 1 {
		for _, j := range jobs {
			s.run([]serveJob{j})
		}
		return
	}
	for i, j := range jobs {
		if err != nil {
			j.done <- serveResult{err: err}
		} else {
			j.done <- serveResult{pred: preds[i]}
		}
	}
}

// statusWriter records the status and size of a response for the log.
type statusWriter struct {
	http.ResponseWriter
	status int
	n      int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.n += n
	return n, err
}

// ServeHTTP routes /healthz and /v1/predict and logs the request.
func (s *server) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	start := time.Now()
	w := &statusWriter{ResponseWriter: rw}
	note := ""
	switch r.URL.Path {
	case "/healthz":
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			methodNotAllowed(w, "GET, HEAD")
			break
		}
		writeJSON(w, http.StatusOK, map[string]any{
			"status": "ok", "model": s.cfg.ModelName, "backbone": s.m.Options.Backbone,
			"method": s.m.Options.Method, "input_width": s.m.InputW, "input_height": s.m.InputH,
			"workers": s.cfg.Workers, "queue": s.cfg.Queue,
		})
	case "/v1/predict":
		if r.Method != http.MethodPost {
			methodNotAllowed(w, "POST")
			break
		}
		note = s.handlePredict(w, r)
	default:
		writeError(w, http.StatusNotFound, fmt.Sprintf("no such path %q (try POST /v1/predict or GET /healthz)", r.URL.Path))
	}
	if s.logger != nil {
		s.logger.Printf("%s %s %s %d %dB %v%s", r.RemoteAddr, r.Method, r.URL.RequestURI(), w.status, w.n,
			time.Since(start).Round(time.Millisecond), note)
	}
}

// handlePredict answers POST /v1/predict; it returns a note for the log.
func (s *server) handlePredict(w http.ResponseWriter, r *http.Request) string {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		writeError(w, http.StatusBadRequest, "malformed query: "+err.Error())
		return ""
	}
	var th *float64
	if v := q.Get("threshold"); v != "" {
		t, err := strconv.ParseFloat(v, 64)
		if err != nil || math.IsNaN(t) || math.IsInf(t, 0) {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("threshold %q is not a finite number", v))
			return ""
		}
		th = &t
	} else if s.m.Stats.HeldOut > 0 {
		t := s.m.Stats.ImageThreshold
		th = &t
	}
	wantMap, err1 := queryBool(q.Get("map"), q.Get("include_map"))
	wantHeat, err2 := queryBool(q.Get("heatmap"), q.Get("include_heatmap"))
	if err := errors.Join(err1, err2); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return ""
	}

	// The slot is held while the body is read (ReadTimeout bounds a slow
	// upload) and the image waits and is scored; it is given back before
	// the reply is encoded and written, so that a client slow to read its
	// reply holds no slot (WriteTimeout bounds it).
	held := false
	release := func() {
		if held {
			held = false
			<-s.slots
		}
	}
	defer release()
	select {
	case s.slots <- struct{}{}:
		held = true
	default:
		w.Header().Set("Retry-After", "1")
		writeError(w, http.StatusServiceUnavailable, "the queue is full; retry later")
		return ""
	}

	if r.ContentLength > s.cfg.MaxBody {
		writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("the body of %d bytes exceeds the limit of %d", r.ContentLength, s.cfg.MaxBody))
		return ""
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.cfg.MaxBody))
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("the body exceeds the limit of %d bytes", s.cfg.MaxBody))
		} else {
			writeError(w, http.StatusBadRequest, "reading the body: "+err.Error())
		}
		return ""
	}
	img, err := imageio.Decode(bytes.NewReader(body), "request body", s.cfg.MaxPixels)
	if err != nil {
		writeError(w, http.StatusBadRequest, strings.TrimPrefix(err.Error(), "imageio: "))
		return ""
	}
	if err := s.pre.CheckSize("request body", img.W, img.H); err != nil { // a thin strip would grow huge when resized
		writeError(w, http.StatusBadRequest, strings.TrimPrefix(err.Error(), "imageio: "))
		return ""
	}
	img = s.pre.Apply(img)
	if img.W != s.m.InputW || img.H != s.m.InputH {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("the image is %d×%d after preprocessing, the model takes %d×%d", img.W, img.H, s.m.InputW, s.m.InputH))
		return ""
	}

	body = nil

	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.Timeout)
	defer cancel()
	job := serveJob{ctx: ctx, img: img, done: make(chan serveResult, 1)}
	var res serveResult
	select {
	case s.jobs <- job: // blocks only behind the jobs of requests that timed out
		select {
		case res = <-job.done:
		case <-ctx.Done():
			res.err = ctx.Err()
		case <-s.quit: // only after a shutdown that ran out of time
			res.err = errors.New("the server is shutting down")
		}
	case <-ctx.Done():
		res.err = ctx.Err()
	}
	release()
	if res.err != nil {
		switch {
		case errors.Is(res.err, context.DeadlineExceeded):
			writeError(w, http.StatusGatewayTimeout, fmt.Sprintf("no prediction within %v", s.cfg.Timeout))
		case errors.Is(res.err, context.Canceled):
			// The client has gone: nobody reads the answer.
			writeError(w, http.StatusServiceUnavailable, "cancelled")
		default:
			writeError(w, http.StatusInternalServerError, res.err.Error())
		}
		return ""
	}

	p := res.pred
	rep := predictReply{Score: p.Score, Threshold: th}
	if th != nil {
		a := float64(p.Score) > *th
		rep.Anomalous = &a
	}
	mw, mh := s.m.InputW, s.m.InputH
	if wantMap {
		m16, scale := render.Map16(p.Map, mw, mh)
		data, err := render.EncodeMap16(m16, scale) // keeps the scale in the PNG too
		if err != nil {
			writeError(w, http.StatusInternalServerError, err.Error())
			return ""
		}
		rep.Map, rep.MapScale = base64.StdEncoding.EncodeToString(data), &scale
	}
	if wantHeat {
		var pixelTh *float64
		if s.m.Stats.HeldOut > 0 {
			pixelTh = &s.m.Stats.PixelThreshold
		}
		lo, hi := heatRange(p.Map, s.m.Stats, pixelTh)
		heat := render.Overlay(img, render.Heatmap(p.Map, mw, mh, lo, hi), heatAlpha)
		var b bytes.Buffer
		if err := png.Encode(&b, heat); err != nil {
			writeError(w, http.StatusInternalServerError, err.Error())
			return ""
		}
		rep.Heatmap = base64.StdEncoding.EncodeToString(b.Bytes())
	}
	writeJSON(w, http.StatusOK, rep)
	return fmt.Sprintf(" score=%.6g", p.Score)
}

// queryBool parses the first non-empty of a query's boolean values
// ("1", "true", …); none means false.
func queryBool(vals ...string) (bool, error) {
	for _, v := range vals {
		if v == "" {
			continue
		}
		b, err := strconv.ParseBool(v)
		if err != nil {
			return false, fmt.Errorf("query value %q is not a boolean (1, 0, true, false)", v)
		}
		return b, nil
	}
	return false, nil
}

func methodNotAllowed(w http.ResponseWriter, allow string) {
	w.Header().Set("Allow", allow)
	writeError(w, http.StatusMethodNotAllowed, "method not allowed; use "+allow)
}

func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]string{"error": msg})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v) // the client may have gone; nothing to do then
}

// byteSize is a flag.Value of a size in bytes: 1048576, 512KiB, 32MiB, 1GiB
// (also KB, MB, GB as powers of 1000).
type byteSize int64

func (b *byteSize) String() string {
	n := int64(*b)
	for _, u := range []struct {
		suffix string
		mul    int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if n != 0 && n%u.mul == 0 {
			return strconv.FormatInt(n/u.mul, 10) + u.suffix
		}
	}
	return strconv.FormatInt(n, 10)
}

func (b *byteSize) Set(s string) error {
	units := []struct {
		suffix string
		mul    int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"B", 1}}
	num, mul := strings.TrimSpace(s), int64(1)
	for _, u := range units {
		if n, ok := strings.CutSuffix(num, u.suffix); ok {
			num, mul = strings.TrimSpace(n), u.mul
			break
		}
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n < 1 || n > math.MaxInt64/mul {
		return fmt.Errorf("size %q: want a positive number of bytes, optionally with KiB, MiB or GiB", s)
	}
	*b = byteSize(n * mul)
	return nil
}

func runServe(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("rp serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg := defaultServeConfig()
	modelPath := fs.String("model", "", "model file written by rp train (required)")
	fs.StringVar(&cfg.Addr, "addr", cfg.Addr, "address to listen on (host:port)")
	weightsPath := fs.String("weights", "", "backbone weight file (default: the one the model was trained with)")
	maxBody := byteSize(cfg.MaxBody)
	fs.Var(&maxBody, "max-body", "largest request body (e.g. 32MiB)")
	fs.IntVar(&cfg.MaxPixels, "max-pixels", cfg.MaxPixels, "largest image in pixels (width × height), refused from its header")
	fs.IntVar(&cfg.Workers, "workers", cfg.Workers, "model goroutines (the matrix products use every core already)")
	fs.IntVar(&cfg.Queue, "queue", cfg.Queue, "requests that may wait for a worker; more get 503")
	fs.DurationVar(&cfg.Timeout, "timeout", cfg.Timeout, "longest wait of a request for its prediction (504 after)")
	quiet := fs.Bool("q", false, "no request log")
	fs.Usage = func() {
		fmt.Fprint(stderr, serveUsage)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *modelPath == "" || fs.NArg() > 0 {
		fs.Usage()
		return errUsage
	}
	cfg.MaxBody = int64(maxBody)
	cfg.ModelName = filepath.Base(*modelPath)
	if !*quiet {
		cfg.Log = stderr
	}
	m, err := reconpatch.LoadModel(*modelPath)
	if err != nil {
		return err
	}
	if err := m.UseBackbone(*weightsPath); err != nil {
		return err
	}
	if m.Stats.HeldOut == 0 {
		fmt.Fprintf(stderr, "rp serve: %s stores no image threshold: \"anomalous\" is null unless a request gives ?threshold=T\n", *modelPath)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	predict := func(ctx context.Context, imgs []imageio.RGB) ([]reconpatch.Prediction, error) {
		return m.PredictImages(ctx, imgs, nil)
	}
	addr, done, err := startServe(ctx, cfg, m, predict)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "rp serve: %s on http://%s (%d worker(s), queue %d)\n", cfg.ModelName, addr, cfg.Workers, cfg.Queue)
	err = <-done
	if err == nil && !*quiet {
		fmt.Fprintln(stderr, "rp serve: stopped")
	}
	return err
}
