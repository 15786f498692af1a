package vnet

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"syscall"
	"time"
	"unsafe"
)

// openTap attaches to the persistent tap name as QEMU's -netdev tap does (TUNSETIFF with
// IFF_TAP|IFF_NO_PI on /dev/net/tun) and returns it with deadlines enabled.
func openTap(name string) (*os.File, error) {
	fd, err := syscall.Open("/dev/net/tun", syscall.O_RDWR|syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open /dev/net/tun: %w", err)
	}
	var ifr struct {
		name  [16]byte
		flags uint16
		_     [22]byte
	}
	copy(ifr.name[:], name)
	ifr.flags = syscall.IFF_TAP | syscall.IFF_NO_PI
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, uintptr(fd), syscall.TUNSETIFF, uintptr(unsafe.Pointer(&ifr))); e != 0 {
		syscall.Close(fd)
		return nil, fmt.Errorf("TUNSETIFF %s: %w", name, e)
	}
	return os.NewFile(uintptr(fd), "tap:"+name), nil
}

// arpRequest builds an Ethernet frame asking who has target, from mac/ip.
func arpRequest(mac net.HardwareAddr, ip, target netip.Addr) []byte {
	var b bytes.Buffer
	b.Write(bytes.Repeat([]byte{0xff}, 6))
	b.Write(mac)
	_ = binary.Write(&b, binary.BigEndian, []uint16{0x0806, 1, 0x0800})
	b.Write([]byte{6, 4, 0, 1}) // hlen, plen, op=request
	b.Write(mac)
	b.Write(ip.AsSlice())
	b.Write(make([]byte, 6))
	b.Write(target.AsSlice())
	return b.Bytes()
}

// arpReplyFrom returns the sender MAC when frame is an ARP reply from ip.
func arpReplyFrom(frame []byte, ip netip.Addr) (net.HardwareAddr, bool) {
	if len(frame) < 42 || binary.BigEndian.Uint16(frame[12:]) != 0x0806 || binary.BigEndian.Uint16(frame[20:]) != 2 {
		return nil, false
	}
	if netip.AddrFrom4([4]byte(frame[28:32])) != ip {
		return nil, false
	}
	return net.HardwareAddr(frame[22:28]), true
}

// helperTap opens tap name, resolves gw by ARP through the bridge, prints "arp-reply
// <mac>" and keeps the tap open until stdin closes.
func helperTap(name, macs, ips, gws string) error {
	mac, err := net.ParseMAC(macs)
	if err != nil {
		return err
	}
	ip, gw := netip.MustParseAddr(ips), netip.MustParseAddr(gws)
	tap, err := openTap(name)
	if err != nil {
		return err
	}
	defer tap.Close()
	buf := make([]byte, 2048)
	for range 20 {
		if _, err := tap.Write(arpRequest(mac, ip, gw)); err != nil {
			return fmt.Errorf("write frame: %w", err)
		}
		_ = tap.SetReadDeadline(time.Now().Add(250 * time.Millisecond))
		for {
			n, err := tap.Read(buf)
			if errors.Is(err, os.ErrDeadlineExceeded) {
				break
			}
			if err != nil {
				return fmt.Errorf("read frame: %w", err)
			}
			if from, ok := arpReplyFrom(buf[:n], gw); ok {
				fmt.Println("arp-reply", from)
				_, _ = io.Copy(io.Discard, os.Stdin)
				return nil
			}
		}
	}
	return fmt.Errorf("no ARP reply from %s on %s", gw, name)
}
