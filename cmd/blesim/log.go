package main

import (
	"flag"
	"fmt"
	"io"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// logFlags are the logging flags serve, run and demo share: --log-level,
// --log-format console|json, and --log-json (short for --log-format json).
type logFlags struct {
	level, format *string
	json          *bool
}

// addLogFlags defines the logging flags on fs with the given default level.
func addLogFlags(fs *flag.FlagSet, level string) *logFlags {
	return &logFlags{
		level:  fs.String("log-level", level, "log level: debug, info, warn or error"),
		format: fs.String("log-format", "console", "log format: console (text for people) or json (one object a line, for machines)"),
		json:   fs.Bool("log-json", false, "short for --log-format json"),
	}
}

// logger builds the logger the flags ask for, writing to w.
func (l *logFlags) logger(w io.Writer) (*zap.Logger, error) {
	format := *l.format
	if *l.json {
		format = "json"
	}
	switch format {
	case "console", "json":
	default:
		return nil, fmt.Errorf("--log-format %q: want console or json", format)
	}
	return newLogger(*l.level, format == "json", w)
}

// newLogger builds the CLI's logger: console text by default, JSON with
// json set, written to w. Console lines carry no wall-clock time (the
// simulation's own times are in the messages); JSON lines do.
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
