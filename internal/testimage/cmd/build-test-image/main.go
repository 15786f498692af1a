// Command build-test-image builds Hangar's small test template (a PVH kernel and a busybox
// initramfs, see package testimage) or reuses the cached one, and prints its directory.
//
// Usage: go run ./internal/testimage/cmd/build-test-image [OUTDIR]
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"

	"hangar/internal/testimage"
)

func main() {
	if len(os.Args) > 2 || (len(os.Args) == 2 && (os.Args[1] == "-h" || os.Args[1] == "--help")) {
		fmt.Fprintln(os.Stderr, "usage: build-test-image [OUTDIR]\n\nBuilds the test template (vmlinux, initrd.img) into OUTDIR, default\n${XDG_CACHE_HOME:-$HOME/.cache}/hangar/test-image/<kernel release>, unless it is current,\nand prints the directory.")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	opt := testimage.Options{Log: os.Stderr}
	if len(os.Args) == 2 {
		opt.OutDir = os.Args[1]
	}
	img, err := testimage.Build(ctx, opt)
	if err != nil {
		fmt.Fprintln(os.Stderr, "build-test-image:", err)
		os.Exit(1)
	}
	fmt.Println(img.Dir)
}
