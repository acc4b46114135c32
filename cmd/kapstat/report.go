package main

import (
	"context"
	"fmt"
	"io"

	"github.com/kapstat/kapstat/pipeline"
)

type reportOptions struct {
	quarter, audience string
	config            pipeline.Config
}

func writeReport(ctx context.Context, db, out string, opt reportOptions) error {
	return fmt.Errorf("report: not yet built")
}

func runReport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return fmt.Errorf("report: not yet built")
}

func runExport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return fmt.Errorf("export: not yet built")
}
