package metrics

import (
	"context"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"hangar/internal/core"
	"hangar/internal/store"
)

// scrapeTimeout bounds the store reads of one scrape.
const scrapeTimeout = 5 * time.Second

// WatchStore registers the fleet gauges, read from st at each scrape: machines by state,
// type and region; each host's capacity and usage per machine type; the engine's queue and
// expired leases; the outbox. clock says what "now" is for the engine queue.
func (m *Metrics) WatchStore(st store.Store, clock core.Clock, log *slog.Logger) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	m.reg.MustRegister(&fleet{st: st, clock: clock, log: log})
}

var (
	machinesDesc = prometheus.NewDesc(Namespace+"_machines", "Live (not destroyed) machines, by state, machine type and region.",
		[]string{"state", "type", "region"}, nil)
	capacityDesc = prometheus.NewDesc(Namespace+"_host_capacity_slots", "Machines of a type a host can hold.",
		[]string{"host", "region", "type"}, nil)
	usedDesc = prometheus.NewDesc(Namespace+"_host_used_slots", "Slots of a machine type in use on a host.",
		[]string{"host", "region", "type"}, nil)
	availableDesc = prometheus.NewDesc(Namespace+"_host_available", "1 if a host takes new placements, 0 if an operator closed it.",
		[]string{"host", "region"}, nil)
	queueDesc   = prometheus.NewDesc(Namespace+"_engine_queue_depth", "Machines the engine must look at now (due, leased or not).", nil, nil)
	expiredDesc = prometheus.NewDesc(Namespace+"_engine_leases_expired",
		"Due machines whose engine lease ran out without being released (a worker that died or overran its lease); the next claim takes them over.", nil, nil)
	outboxDesc = prometheus.NewDesc(Namespace+"_mail_outbox_depth", "Notification emails waiting for a delivery attempt.", nil, nil)
)

// fleet is the scrape-time collector of the store's gauges.
type fleet struct {
	st    store.Store
	clock core.Clock
	log   *slog.Logger
}

func (f *fleet) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{machinesDesc, capacityDesc, usedDesc, availableDesc, queueDesc, expiredDesc, outboxDesc} {
		ch <- d
	}
}

func (f *fleet) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), scrapeTimeout)
	defer cancel()
	var g store.Gauges
	var hosts []core.HostLoad
	err := f.st.Read(ctx, func(tx store.Tx) (err error) {
		if g, err = tx.Gauges(f.clock.Now()); err != nil {
			return err
		}
		hosts, err = tx.ListHosts("")
		return err
	})
	if err != nil {
		f.log.Error("metrics: reading the fleet gauges", "err", err)
		for _, d := range []*prometheus.Desc{machinesDesc, capacityDesc, queueDesc, outboxDesc} {
			ch <- prometheus.NewInvalidMetric(d, err)
		}
		return
	}
	for _, c := range g.Machines {
		ch <- prometheus.MustNewConstMetric(machinesDesc, prometheus.GaugeValue, float64(c.Count), string(c.State), c.MachineType, c.Region)
	}
	for _, h := range hosts {
		for typ, n := range h.Capacity {
			ch <- prometheus.MustNewConstMetric(capacityDesc, prometheus.GaugeValue, float64(n), h.Name, h.Region, typ)
			ch <- prometheus.MustNewConstMetric(usedDesc, prometheus.GaugeValue, float64(h.Used[typ]), h.Name, h.Region, typ)
		}
		for typ, n := range h.Used {
			if _, ok := h.Capacity[typ]; !ok { // capacity removed while machines still hold it
				ch <- prometheus.MustNewConstMetric(usedDesc, prometheus.GaugeValue, float64(n), h.Name, h.Region, typ)
			}
		}
		avail := 0.0
		if h.Available {
			avail = 1
		}
		ch <- prometheus.MustNewConstMetric(availableDesc, prometheus.GaugeValue, avail, h.Name, h.Region)
	}
	ch <- prometheus.MustNewConstMetric(queueDesc, prometheus.GaugeValue, float64(g.Due))
	ch <- prometheus.MustNewConstMetric(expiredDesc, prometheus.GaugeValue, float64(g.ExpiredLeases))
	ch <- prometheus.MustNewConstMetric(outboxDesc, prometheus.GaugeValue, float64(g.Outbox))
}
