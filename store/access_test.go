package store

import (
	"strings"
	"testing"
)

func TestAccessDDL(t *testing.T) {
	stmts, err := AccessDDL("tripline", AccessConfig{
		WriterUser: "tripline_ingest", WriterPassword: "s3cret-pw", ReadEvents: true,
		MSPs: []string{"msp-a", "O'Brien IT"},
	})
	if err != nil {
		t.Fatal(err)
	}
	all := strings.Join(stmts, ";\n")
	for _, want := range []string{
		"CREATE ROLE IF NOT EXISTS tripline_writer",
		"GRANT INSERT ON `tripline`.* TO tripline_writer",
		"GRANT SELECT ON `tripline`.events TO tripline_writer",
		"CREATE USER IF NOT EXISTS tripline_ingest IDENTIFIED WITH sha256_hash BY '",
		"DEFAULT ROLE tripline_writer",
		"GRANT SELECT ON `tripline`.* TO tripline_analyst",
		"CREATE ROW POLICY OR REPLACE tripline_analyst_msp_a ON `tripline`.events, `tripline`.detections FOR SELECT USING msp = 'msp-a' TO tripline_analyst_msp_a",
		`USING msp = 'O\'Brien IT' TO tripline_analyst_o_brien_it`,
		"TO ALL EXCEPT tripline_analyst_msp_a, tripline_analyst_o_brien_it",
	} {
		if !strings.Contains(all, want) {
			t.Errorf("access DDL lacks %q:\n%s", want, all)
		}
	}
	if strings.Contains(all, "s3cret-pw") {
		t.Error("the writer's password appears in the DDL (it must be sent hashed)")
	}
	for _, s := range stmts {
		if strings.HasPrefix(s, "GRANT") && strings.Contains(s, "INSERT") && strings.Contains(s, "analyst") {
			t.Errorf("an analyst role may insert: %s", s)
		}
		if strings.Contains(s, "tripline_writer") && strings.Contains(s, "ALTER") {
			t.Errorf("the writer may alter: %s", s)
		}
	}

	// Without MSP scoping there is no row policy at all.
	stmts, _ = AccessDDL("tripline", AccessConfig{})
	if strings.Contains(strings.Join(stmts, "\n"), "ROW POLICY") {
		t.Error("row policies without MSP-scoped analysts")
	}
	if _, err := AccessDDL("tripline", AccessConfig{WriterUser: "w"}); err == nil {
		t.Error("a writer user without a password was accepted")
	}
	if _, err := AccessDDL("tripline", AccessConfig{AnalystRole: "x; DROP TABLE y"}); err == nil {
		t.Error("a role name with SQL in it was accepted")
	}
	if (Version{18, 16, 1}).HasSQLAccessControl() || !(Version{24, 3, 0}).HasSQLAccessControl() {
		t.Error("HasSQLAccessControl gate is wrong")
	}
}
