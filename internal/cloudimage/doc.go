// Package cloudimage gives tests the Debian 12 cloud image that scripts/build-cloud-image
// builds from Debian's packages (a qcow2 with a GPT, an EFI system partition holding GRUB as
// the removable-media boot loader, and an ext4 root with cloud-init, openssh-server,
// qemu-guest-agent and sudo). Hangar treats it as any stock cloud image: nothing in it is
// Hangar's, which TestImageHoldsOnlyDebian checks on the built file.
package cloudimage
