package loadgen

import "testing"

// testClient is the client the engine acceptance tests use when their Config
// names none: the fast client, which is the default. TestAcceptanceOnStd
// runs them again on net/http, so that correctness is checked on both.
var testClient = ClientFast

// TestAcceptanceOnStd reruns every engine acceptance test on net/http's
// client. Tests here run one at a time (none calls t.Parallel), so switching
// testClient for their duration is safe.
func TestAcceptanceOnStd(t *testing.T) {
	testClient = ClientStd
	defer func() { testClient = ClientFast }()
	for _, tc := range []struct {
		name string
		test func(*testing.T)
	}{
		{"PhaseTruth", TestPhaseTruth},
		{"DNSCacheAvoidsQueries", TestDNSCacheAvoidsQueries},
		{"CoordinatedOmission", TestCoordinatedOmission},
		{"ModesByTargetCounters", TestModesByTargetCounters},
		{"OpenLoop", TestOpenLoop},
		{"MaxInFlightDrops", TestMaxInFlightDrops},
		{"ErrorsClassified", TestErrorsClassified},
		{"CancelKeepsMeasurements", TestCancelKeepsMeasurements},
		{"KeepAliveReusesIdleBeforeDialing", TestKeepAliveReusesIdleBeforeDialing},
	} {
		t.Run(tc.name, tc.test)
	}
}
