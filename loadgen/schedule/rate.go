package schedule

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// ParseRate parses a positive rate and returns it in requests per second:
// "2000" and "2000/s" are per second, "120/m" per minute, "3600/h" per hour.
func ParseRate(s string) (float64, error) {
	num, per := strings.TrimSpace(s), 1.0
	if n, unit, ok := strings.Cut(num, "/"); ok {
		switch strings.TrimSpace(unit) {
		case "s":
			per = 1
		case "m":
			per = 60
		case "h":
			per = 3600
		default:
			return 0, fmt.Errorf("schedule: rate %q: unit %q is unknown (want N, N/s, N/m or N/h, e.g. 2000/s)", s, unit)
		}
		num = strings.TrimSpace(n)
	}
	v, err := strconv.ParseFloat(num, 64)
	r := v / per // a denormal per minute can underflow to 0
	if err != nil || math.IsInf(v, 0) || math.IsNaN(v) || r <= 0 {
		return 0, fmt.Errorf("schedule: rate %q is not a positive number (want N, N/s, N/m or N/h, e.g. 2000/s)", s)
	}
	return r, nil
}
