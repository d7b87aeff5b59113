package library

import (
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap/zaptest"

	"blesim/scenarios/scenario"
)

// TestEveryScenarioPasses plays each built-in scenario with the built-in
// hosts; every expectation must hold.
func TestEveryScenarioPasses(t *testing.T) {
	list, err := List()
	require.NoError(t, err)
	require.NotEmpty(t, list)
	for _, e := range list {
		t.Run(e.Name, func(t *testing.T) {
			require.NotEmpty(t, e.Description, "every scenario has a description for blesim list")
			s, err := Load(e.Name)
			require.NoError(t, err)
			res, err := scenario.Run(s, scenario.Options{Log: zaptest.NewLogger(t), OutDir: t.TempDir()})
			require.NoError(t, err)
			require.True(t, res.Passed, res.Summary())
		})
	}
}
