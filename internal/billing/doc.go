// Package billing turns what the meter recorded (core.MachineUsage: a machine's lifetime and
// its billable intervals) into per-month usage and charges. It is pure: the caller passes the
// current time, so results are exact and tests need no clock.
//
// Rules (README "Utilization and billing"):
//   - machine time counts every state but off (spec §3.2), to the millisecond;
//   - storage time runs from create to destroy, whatever the state (storage is billed while
//     off);
//   - a month is a calendar month in UTC, [first day 00:00, first day of the next month);
//   - time still running (an open interval, a live machine) counts up to now;
//   - hourly machines are charged seconds × hourly rate; monthly machines the type's monthly
//     rate prorated over the storage time of the month; both add the storage rate prorated
//     over the storage time of the month; each charge is rounded half up to the cent per
//     machine and month, and totals are sums of rounded charges.
package billing
