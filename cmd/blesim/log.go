package main

import (
	"fmt"
	"io"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// newLogger builds the CLI's logger: console text by default, JSON with
// --log-json, written to w.
func newLogger(level string, json bool, w io.Writer) (*zap.Logger, error) {
	lvl, err := zapcore.ParseLevel(level)
	if err != nil {
		return nil, fmt.Errorf("--log-level %q: want debug, info, warn or error", level)
	}
	encCfg := zap.NewDevelopmentEncoderConfig()
	encCfg.TimeKey = ""
	var enc zapcore.Encoder
	if json {
		enc = zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig())
	} else {
		enc = zapcore.NewConsoleEncoder(encCfg)
	}
	core := zapcore.NewCore(enc, zapcore.AddSync(w), lvl)
	return zap.New(core), nil
}
