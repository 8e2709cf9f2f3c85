package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/reconpatch/rp/reconpatch"
	"github.com/reconpatch/rp/reconpatch/imageio"
	"github.com/reconpatch/rp/reconpatch/render"
)

// testServeConfig is a loopback configuration with short timeouts.
func testServeConfig() serveConfig {
	cfg := defaultServeConfig()
	cfg.Addr = "127.0.0.1:0"
	cfg.ModelName = "test.rpm"
	cfg.Timeout = time.Minute
	cfg.ReadHeaderTimeout = 5 * time.Second
	cfg.ReadTimeout = 10 * time.Second
	cfg.IdleTimeout = 10 * time.Second
	cfg.ShutdownTimeout = time.Minute
	return cfg
}

// startTestServer starts a server and stops it at the end of the test,
// checking that the shutdown is clean. It returns the base URL, the
// server's log and the function that stops it early. The shutdown must
// also remove the server's temporary folder.
func startTestServer(t *testing.T, cfg serveConfig, m *reconpatch.Model, predict predictFunc) (s *server, base string, logs *syncBuffer, stop func()) {
	t.Helper()
	logs = &syncBuffer{}
	cfg.Log = logs
	ctx, cancel := context.WithCancel(context.Background())
	s, done, err := startServer(ctx, cfg, m, predict)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("shutdown: %v", err)
				}
			case <-time.After(time.Minute):
				t.Error("the server did not stop within a minute")
			}
		})
	}
	t.Cleanup(stop)
	return s, "http://" + s.addr.String(), logs, stop
}

// syncBuffer is a bytes.Buffer safe for concurrent use.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

var testClient = &http.Client{Timeout: 2 * time.Minute}

// do sends a request and decodes the JSON reply.
func do(t *testing.T, method, url string, body []byte) (int, http.Header, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := testClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if method != http.MethodHead {
		if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("%s %s: Content-Type %q", method, url, ct)
		}
		if err := json.Unmarshal(raw, &got); err != nil {
			t.Fatalf("%s %s: %d %q: %v", method, url, resp.StatusCode, raw, err)
		}
	}
	return resp.StatusCode, resp.Header, got
}

// decodeB64PNG decodes a base64 PNG field of a reply.
func decodeB64PNG(t *testing.T, v any) image.Image {
	t.Helper()
	s, ok := v.(string)
	if !ok {
		t.Fatalf("PNG field %v is not a string", v)
	}
	raw, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// fakeModel is the metadata of a 32×32 model whose thresholds are 0.5.
func fakeModel() *reconpatch.Model {
	return &reconpatch.Model{
		Options: reconpatch.Options{Backbone: "fake", Method: reconpatch.MethodPatchCore, Batch: 4},
		InputW:  32, InputH: 32,
		Stats: reconpatch.Stats{HeldOut: 1, ImageThreshold: 0.5, PixelThreshold: 0.5, PixelMedian: 0.1},
	}
}

// fakePredict scores an image by its red channel: the map is red/255 and
// the score its mean. It counts its calls and images.
type fakePredict struct {
	mu            sync.Mutex
	calls, images int
	gate          chan struct{} // if set, each call waits for a value
	entered       chan struct{} // if set, each call sends on it first
}

func (f *fakePredict) predict(ctx context.Context, imgs []imageio.RGB) ([]reconpatch.Prediction, error) {
	if f.entered != nil {
		f.entered <- struct{}{}
	}
	if f.gate != nil {
		<-f.gate
	}
	f.mu.Lock()
	f.calls++
	f.images += len(imgs)
	f.mu.Unlock()
	out := make([]reconpatch.Prediction, len(imgs))
	for i, img := range imgs {
		m := make([]float32, img.W*img.H)
		var sum float32
		for j := range m {
			m[j] = float32(img.Pix[3*j]) / 255
			sum += m[j]
		}
		out[i] = reconpatch.Prediction{Score: sum / float32(len(m)), Map: m}
	}
	return out, nil
}

// testPNG encodes a w×h image whose red channel is red.
func testPNG(t *testing.T, w, h int, red uint8) []byte {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.NRGBA{red, uint8(x * 7), uint8(y * 5), 255})
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestServeHTTP checks the routes, the replies and the errors of rp serve
// with a stand-in for the model (it runs with -short).
func TestServeHTTP(t *testing.T) {
	cfg := testServeConfig()
	cfg.MaxBody = 16 << 10
	cfg.Queue = 32 // room for the 20 concurrent requests
	fp := &fakePredict{}
	_, base, logs, stop := startTestServer(t, cfg, fakeModel(), fp.predict)

	code, _, got := do(t, "GET", base+"/healthz", nil)
	if code != 200 || got["status"] != "ok" || got["model"] != "test.rpm" || got["backbone"] != "fake" {
		t.Errorf("healthz: %d %v", code, got)
	}
	if code, _, _ := do(t, "HEAD", base+"/healthz", nil); code != 200 {
		t.Errorf("HEAD /healthz: %d", code)
	}

	low, high := testPNG(t, 32, 32, 51), testPNG(t, 32, 32, 204)
	code, _, got = do(t, "POST", base+"/v1/predict", low)
	if code != 200 {
		t.Fatalf("predict: %d %v", code, got)
	}
	if s, _ := got["score"].(float64); s < 0.19 || s > 0.21 || got["anomalous"] != false || got["threshold"] != 0.5 {
		t.Errorf("predict: %v", got)
	}
	for _, k := range []string{"map", "map_scale", "heatmap"} {
		if _, ok := got[k]; ok {
			t.Errorf("%s in a reply without ?map or ?heatmap: %v", k, got)
		}
	}
	code, _, got = do(t, "POST", base+"/v1/predict?map=1&heatmap=true", high)
	if code != 200 || got["anomalous"] != true {
		t.Fatalf("predict ?map=1&heatmap=true: %d %v", code, got)
	}
	m := decodeB64PNG(t, got["map"])
	g16, ok := m.(*image.Gray16)
	scale, _ := got["map_scale"].(float64)
	if !ok || g16.Bounds() != image.Rect(0, 0, 32, 32) || scale <= 0 {
		t.Fatalf("map %T %v, scale %v", m, m.Bounds(), got["map_scale"])
	}
	if v := float64(g16.Gray16At(3, 3).Y) / scale; v < 0.79 || v > 0.81 {
		t.Errorf("map pixel %g, want 0.8", v)
	}
	if h := decodeB64PNG(t, got["heatmap"]); h.Bounds() != image.Rect(0, 0, 32, 32) {
		t.Errorf("heatmap bounds %v", h.Bounds())
	}
	code, _, got = do(t, "POST", base+"/v1/predict?include_map=true&threshold=0.9", high)
	if code != 200 || got["anomalous"] != false || got["threshold"] != 0.9 || got["map"] == nil {
		t.Errorf("predict ?include_map=true&threshold=0.9: %d %v", code, got)
	}

	for _, c := range []struct {
		method, path string
		body         []byte
		code         int
		msg          string
	}{
		{"POST", "/v1/predict", []byte("this is not an image"), 400, "not an image"},
		{"POST", "/v1/predict", nil, 400, "empty"},
		{"POST", "/v1/predict", high[:len(high)/2], 400, "request body"},
		{"POST", "/v1/predict", testPNG(t, 40, 32, 0), 400, "40×32"},
		{"POST", "/v1/predict?threshold=abc", high, 400, "threshold"},
		{"POST", "/v1/predict?map=maybe", high, 400, "maybe"},
		{"POST", "/v1/predict", make([]byte, 20<<10), 413, "limit"},
		{"GET", "/v1/predict", nil, 405, "POST"},
		{"PUT", "/healthz", nil, 405, "GET"},
		{"GET", "/nope", nil, 404, "/nope"},
	} {
		code, hdr, got := do(t, c.method, base+c.path, c.body)
		msg, _ := got["error"].(string)
		if code != c.code || !strings.Contains(msg, c.msg) {
			t.Errorf("%s %s (%d bytes): %d %v, want %d and an error naming %q", c.method, c.path, len(c.body), code, got, c.code, c.msg)
		}
		if code == 405 && hdr.Get("Allow") == "" {
			t.Errorf("%s %s: 405 without Allow", c.method, c.path)
		}
	}
	// Oversize without a Content-Length: the body is cut at the limit.
	req, _ := http.NewRequest("POST", base+"/v1/predict", io.MultiReader(bytes.NewReader(make([]byte, 40<<10))))
	req.ContentLength = -1
	if resp, err := testClient.Do(req); err != nil {
		t.Error(err)
	} else {
		resp.Body.Close()
		if resp.StatusCode != 413 {
			t.Errorf("chunked oversize body: %d", resp.StatusCode)
		}
	}

	// 20 concurrent requests all succeed; they share predict calls.
	fp.mu.Lock()
	calls0, images0 := fp.calls, fp.images
	fp.mu.Unlock()
	concurrent(t, base, 20, [][]byte{low, high})
	fp.mu.Lock()
	calls, images := fp.calls-calls0, fp.images-images0
	fp.mu.Unlock()
	if images != 20 || calls > 20 {
		t.Errorf("20 requests: %d images in %d calls", images, calls)
	}
	t.Logf("20 concurrent requests: %d predict calls", calls)

	stop()
	if !strings.Contains(logs.String(), "POST /v1/predict?map=1&heatmap=true 200") {
		t.Errorf("log lacks the request line:\n%s", logs.String())
	}
	if _, err := testClient.Get(base + "/healthz"); err == nil {
		t.Error("the server still answers after the shutdown")
	}
}

// concurrent posts n images at once and checks that every request succeeds.
func concurrent(t *testing.T, base string, n int, bodies [][]byte) []float64 {
	t.Helper()
	scores := make([]float64, n)
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			resp, err := testClient.Post(base+"/v1/predict", "application/octet-stream", bytes.NewReader(bodies[i%len(bodies)]))
			if err != nil {
				errs <- err
				return
			}
			defer resp.Body.Close()
			var got predictReply
			if err := json.NewDecoder(resp.Body).Decode(&got); err != nil || resp.StatusCode != 200 {
				errs <- fmt.Errorf("request %d: %d %v", i, resp.StatusCode, err)
				return
			}
			scores[i] = float64(got.Score)
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	return scores
}

// TestServeQueueFull fills the one worker and the one queue place and
// checks that the next request gets 503 with Retry-After, and that a
// shutdown still finishes the requests under way.
func TestServeQueueFull(t *testing.T) {
	cfg := testServeConfig()
	cfg.Workers, cfg.Queue = 1, 1
	m := fakeModel()
	m.Options.Batch = 1
	fp := &fakePredict{gate: make(chan struct{}), entered: make(chan struct{}, 4)}
	srv, base, _, stop := startTestServer(t, cfg, m, fp.predict)
	s := testPNG(t, 32, 32, 100)

	codes := make(chan int, 2)
	post := func() {
		resp, err := testClient.Post(base+"/v1/predict", "image/png", bytes.NewReader(s))
		if err != nil {
			t.Error(err)
			codes <- 0
			return
		}
		resp.Body.Close()
		codes <- resp.StatusCode
	}
	go post()
	<-fp.entered // the worker holds the first request
	go post()
	// Wait until the second request waits in the queue.
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		if len(srv.jobs) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the second request never reached the queue")
		}
	}
	code, hdr, got := do(t, "POST", base+"/v1/predict", s)
	if code != 503 || hdr.Get("Retry-After") == "" || got["error"] == nil {
		t.Errorf("third request: %d, Retry-After %q, %v", code, hdr.Get("Retry-After"), got)
	}
	// Shut down with two requests under way: both are answered.
	done := make(chan struct{})
	go func() { stop(); close(done) }()
	time.Sleep(50 * time.Millisecond)
	fp.gate <- struct{}{}
	<-fp.entered
	fp.gate <- struct{}{}
	<-done
	for range 2 {
		if c := <-codes; c != 200 {
			t.Errorf("request under way at shutdown: %d", c)
		}
	}
}

// TestServeModel trains a tiny PatchCore model and serves it: a defect image
// scores higher than a good one, the map decodes, 20 concurrent requests
// succeed and the shutdown is clean.
func TestServeModel(t *testing.T) {
	dir, data := tinySet(t, 2)
	var out, errb bytes.Buffer
	model := filepath.Join(dir, "m.rpm")
	if code := run([]string{"train", "-data", data, "-o", model, "-method", "patchcore", "-resize", "128", "-crop", "128", "-coreset", "0.05", "-q"}, &out, &errb); code != 0 {
		t.Fatalf("train exited %d: %s", code, errb.String())
	}
	m, err := reconpatch.LoadModel(model)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.UseBackbone(""); err != nil {
		t.Fatal(err)
	}
	cfg := testServeConfig()
	cfg.Queue = 32
	_, base, logs, stop := startTestServer(t, cfg, m, func(ctx context.Context, imgs []imageio.RGB) ([]reconpatch.Prediction, error) {
		return m.PredictImages(ctx, imgs, nil)
	})

	code, _, got := do(t, "GET", base+"/healthz", nil)
	if code != 200 || got["status"] != "ok" || got["backbone"] != m.Options.Backbone {
		t.Errorf("healthz: %d %v", code, got)
	}
	read := func(rel string) []byte {
		b, err := os.ReadFile(filepath.Join(data, "test", rel))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	good := read("good/000.png")
	defects, err := filepath.Glob(filepath.Join(data, "test", "*", "000.png"))
	if err != nil || len(defects) < 2 {
		t.Fatalf("test images %v: %v", defects, err)
	}
	var defect []byte
	for _, p := range defects {
		if filepath.Base(filepath.Dir(p)) != "good" {
			defect = read(filepath.Join(filepath.Base(filepath.Dir(p)), "000.png"))
			break
		}
	}
	code, _, g := do(t, "POST", base+"/v1/predict", good)
	if code != 200 {
		t.Fatalf("good: %d %v", code, g)
	}
	code, _, d := do(t, "POST", base+"/v1/predict?map=1", defect)
	if code != 200 {
		t.Fatalf("defect: %d %v", code, d)
	}
	gs, ds := g["score"].(float64), d["score"].(float64)
	if ds <= gs {
		t.Errorf("defect scores %g, good %g", ds, gs)
	}
	if g["threshold"] == nil || g["anomalous"] == nil {
		t.Errorf("good: no threshold or label: %v", g)
	}
	mp := decodeB64PNG(t, d["map"])
	if _, ok := mp.(*image.Gray16); !ok || mp.Bounds() != image.Rect(0, 0, m.InputW, m.InputH) {
		t.Errorf("map %T %v", mp, mp.Bounds())
	}
	raw, _ := base64.StdEncoding.DecodeString(d["map"].(string))
	if text, err := render.ReadPNGText(bytes.NewReader(raw)); err != nil || text[render.MapScaleKey] == "" {
		t.Errorf("map PNG text %v, %v", text, err)
	}
	t.Logf("good %.4g, defect %.4g", gs, ds)

	scores := concurrent(t, base, 20, [][]byte{good, defect})
	for i, s := range scores {
		want := gs
		if i%2 == 1 {
			want = ds
		}
		if diff := s - want; diff > 1e-3*want || diff < -1e-3*want {
			t.Errorf("concurrent request %d scored %g, alone %g", i, s, want)
		}
	}
	stop()
	if n := strings.Count(logs.String(), "/v1/predict"); n != 22 {
		t.Errorf("%d predict lines in the log, want 22", n)
	}
}

// TestServeFlags checks the usage errors of rp serve.
func TestServeFlags(t *testing.T) {
	for _, c := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"serve"}, 2, "Usage: rp serve"},
		{[]string{"serve", "-model", "m.rpm", "extra"}, 2, "Usage: rp serve"},
		{[]string{"serve", "-model", "m.rpm", "-max-body", "lots"}, 1, "lots"},
		{[]string{"serve", "-model", filepath.Join(t.TempDir(), "none.rpm")}, 1, "none.rpm"},
	} {
		var out, errb bytes.Buffer
		if code := run(c.args, &out, &errb); code != c.code || !strings.Contains(errb.String(), c.msg) {
			t.Errorf("%v: exit %d, %q; want %d and %q", c.args, code, errb.String(), c.code, c.msg)
		}
	}
	var b byteSize
	for s, want := range map[string]int64{"32MiB": 32 << 20, "1024": 1024, "2 KiB": 2048, "1GB": 1e9} {
		if err := b.Set(s); err != nil || int64(b) != want {
			t.Errorf("byteSize %q = %d, %v; want %d", s, b, err, want)
		}
	}
	for _, s := range []string{"", "0", "-1MiB", "1.5MiB", "9999999999GiB"} {
		if err := b.Set(s); err == nil {
			t.Errorf("byteSize %q accepted", s)
		}
	}
}

// rawExchange sends raw bytes on a new connection and reads the reply's
// status; code 0 means the server closed the connection without a reply.
func rawExchange(t *testing.T, addr string, req []byte) int {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(time.Minute)) // a hang fails the test, not a slow machine
	if _, err := c.Write(req); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return 0
		}
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestServeMalformed sends requests that no client library would and
// checks that each gets a 4xx reply (it runs with -short).
func TestServeMalformed(t *testing.T) {
	cfg := testServeConfig()
	cfg.MaxBody = 16 << 10
	fp := &fakePredict{}
	_, base, _, _ := startTestServer(t, cfg, fakeModel(), fp.predict)
	addr := strings.TrimPrefix(base, "http://")
	img := testPNG(t, 32, 32, 10)
	for _, c := range []struct {
		name string
		req  string
		code int
	}{
		{"garbage", "GARBAGE\r\n\r\n", 400},
		{"no Host", "GET /healthz HTTP/1.1\r\n\r\n", 400},
		{"bad Content-Length", "POST /v1/predict HTTP/1.1\r\nHost: x\r\nContent-Length: lots\r\n\r\n", 400},
		{"two Content-Lengths", "POST /v1/predict HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab", 400},
		{"Content-Length and chunked", "POST /v1/predict HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400},
		{"bad chunk", "POST /v1/predict HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n", 400},
		{"huge header", "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("a", 200<<10) + "\r\n\r\n", 431},
		{"huge Content-Length", "POST /v1/predict HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999\r\n\r\n", 413},
		{"truncated PNG", "POST /v1/predict HTTP/1.1\r\nHost: x\r\nContent-Length: 40\r\n\r\n" + string(img[:40]), 400},
		{"bad query escape", fmt.Sprintf("POST /v1/predict?map=%%zz HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s", len(img), img), 400},
		{"well formed", fmt.Sprintf("POST /v1/predict HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s", len(img), img), 200},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := rawExchange(t, addr, []byte(c.req)); got != c.code {
				t.Errorf("status %d, want %d", got, c.code)
			}
		})
	}
}

// TestServeSlowClients checks that a client that sends its request slowly,
// stops sending, or keeps an idle connection, loses the connection or gets
// a 4xx once the read timeouts pass, and that the one worker and its one
// queue slot are free for the next request (it runs with -short).
func TestServeSlowClients(t *testing.T) {
	cfg := testServeConfig()
	cfg.Workers, cfg.Queue = 1, 0 // one slot: a client that kept it would block every other
	cfg.ReadHeaderTimeout = 200 * time.Millisecond
	cfg.ReadTimeout = 500 * time.Millisecond
	cfg.IdleTimeout = 200 * time.Millisecond
	fp := &fakePredict{}
	srv, base, _, _ := startTestServer(t, cfg, fakeModel(), fp.predict)
	addr := strings.TrimPrefix(base, "http://")
	scored := func() int {
		fp.mu.Lock()
		defer fp.mu.Unlock()
		return fp.images
	}
	fresh := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: time.Minute}
	img := testPNG(t, 32, 32, 10)
	full := fmt.Sprintf("POST /v1/predict HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s", len(img), img)
	for _, c := range []struct {
		name    string
		send    string // sent at once
		trickle bool   // then one byte every 10 ms until the server gives up
		codes   []int  // the replies read before the connection closes
	}{
		{"header trickle", "POST /v1/predict HTTP/1.1\r\nHost: x\r\nX-Slow: ", true, nil},
		{"header stalls", "POST /v1/predict HTTP/1.1\r\nHost: x\r\n", false, nil},
		{"body trickle", "POST /v1/predict HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n", true, []int{400}},
		{"body stalls", "POST /v1/predict HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nshort", false, []int{400}},
		{"idle keep-alive", full, false, []int{200}},
		{"reply not read", strings.Replace(full, "/v1/predict", "/v1/predict?heatmap=1&map=1", 1), false, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			scored0 := scored()
			conn, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			conn.SetDeadline(time.Now().Add(time.Minute)) // a hang fails the test, not a slow machine
			if _, err := io.WriteString(conn, c.send); err != nil {
				t.Fatal(err)
			}
			stop := make(chan struct{})
			var wg sync.WaitGroup
			defer func() { close(stop); wg.Wait() }()
			if c.trickle {
				wg.Go(func() {
					for {
						select {
						case <-stop:
							return
						case <-time.After(10 * time.Millisecond):
						}
						if _, err := conn.Write([]byte("a")); err != nil {
							return
						}
					}
				})
			}
			if c.name == "reply not read" {
				// The reply waits in the connection; the slot is free once
				// the image is scored and the handler has returned.
				for deadline := time.Now().Add(time.Minute); ; time.Sleep(time.Millisecond) {
					if len(srv.slots) == 0 && scored() > scored0 {
						break
					}
					if time.Now().After(deadline) {
						t.Fatal("the request was never scored")
					}
				}
			} else {
				br := bufio.NewReader(conn)
				var codes []int
				reset := false
				for {
					resp, err := http.ReadResponse(br, nil)
					if err != nil {
						// Closing with the trickled bytes unread, the server's
						// kernel may reset the connection and drop the reply.
						reset = errors.Is(err, syscall.ECONNRESET)
						if !reset && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
							t.Fatalf("after %v: %v; want the server to close the connection", codes, err)
						}
						break
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					codes = append(codes, resp.StatusCode)
				}
				if !slices.Equal(codes, c.codes) && !(reset && len(codes) == 0) {
					t.Errorf("replies %v, want %v and the connection closed", codes, c.codes)
				}
			}
			// A new connection: a pooled one may be closed for idleness.
			resp, err := fresh.Post(base+"/v1/predict", "image/png", bytes.NewReader(img))
			if err != nil {
				t.Fatalf("the next request: %v", err)
			}
			resp.Body.Close()
			if resp.StatusCode != 200 {
				t.Errorf("the next request: %d", resp.StatusCode)
			}
		})
	}
}

// TestServeThinStrip checks that an image whose resize would exceed the
// pixel limit (a thin strip whose shorter side grows to Resize) is refused
// before it is resized.
func TestServeThinStrip(t *testing.T) {
	m := fakeModel()
	m.Options.Resize, m.Options.Crop = 32, 32
	cfg := testServeConfig()
	cfg.MaxPixels = 1 << 20
	_, base, _, stop := startTestServer(t, cfg, m, (&fakePredict{}).predict)
	defer stop()
	code, _, got := do(t, "POST", base+"/v1/predict", testPNG(t, 40000, 2, 0)) // → 640000×32 after the resize
	if code != 400 || !strings.Contains(fmt.Sprint(got["error"]), "request body") {
		t.Errorf("thin strip: %d %v, want 400 naming the request body", code, got)
	}
	if code, _, _ := do(t, "POST", base+"/v1/predict", testPNG(t, 32, 32, 0)); code != 200 {
		t.Errorf("a normal image after the strip: %d, want 200", code)
	}
}
