package measures

// Source is a definition in force with the reference it rests on, as the workbook's Methods
// sheet prints it.
type Source struct {
	Topic     string
	Statement string
	Reference string
}

// Sources lists where every default threshold of the instruments comes from. Entries marked
// "project decision" have no published rule behind them and are stated as such.
var Sources = []Source{
	{"PHQ-9 scoring", "9 items scored 0–3, total 0–27; bands 0–4 minimal, 5–9 mild, 10–14 moderate, 15–19 moderately severe, 20–27 severe",
		"Kroenke, Spitzer & Williams 2001, J Gen Intern Med 16:606–613; LOINC 44261-6"},
	{"PHQ-9 caseness", "total ≥ 10 (88% sensitivity, 88% specificity for major depression)", "Kroenke et al. 2001"},
	{"PHQ-9 item 9", "any rating above 0 is flagged for suicide-risk follow-up", "Simon et al. 2013, Psychiatr Serv; Louzon et al. 2016, Psychiatr Serv"},
	{"PHQ-9 prorating", "up to 2 missing items: total = mean of answered items × 9, rounded half up", "Arrieta et al. 2017 convention (R package qscorer)"},
	{"PHQ-9 reliable change", "a change of 6 points or more", "NHS Talking Therapies (IAPT) reliable improvement threshold"},
	{"GAD-7 scoring", "7 items scored 0–3, total 0–21; bands 0–4 minimal, 5–9 mild, 10–14 moderate, 15–21 severe",
		"Spitzer, Kroenke, Williams & Löwe 2006, Arch Intern Med 166:1092–1097"},
	{"GAD-7 caseness", "total ≥ 10 (89% sensitivity, 82% specificity for GAD)", "Spitzer et al. 2006"},
	{"GAD-7 reliable change", "a change of 4 points or more", "NHS Talking Therapies (IAPT) reliable improvement threshold"},
	{"GAD-7 prorating", "up to 1 missing item, prorated as PHQ-9", "project decision (no published rule found)"},
	{"PCL-5 scoring", "20 items scored 0–4, total 0–80; clusters B 1–5, C 6–7, D 8–14, E 15–20",
		"Blevins et al. 2015, J Trauma Stress 28:489–498; National Center for PTSD"},
	{"PCL-5 caseness", "total ≥ 33 (upper end of the 31–33 range)", "National Center for PTSD; Forkus et al. 2023"},
	{"PCL-5 provisional PTSD", "at least 1 B, 1 C, 2 D and 2 E items rated 2 (moderately) or higher", "DSM-5 rule, National Center for PTSD"},
	{"PCL-5 reliable change", "a change of 10 points or more (top of the 5–10 range)", "National Center for PTSD"},
	{"PCL-5 prorating", "up to 3 missing items, prorated as PHQ-9; cluster scores prorated within the cluster", "project decision (no published rule found)"},
	{"Response", "endpoint ≤ 50% of baseline among patients with baseline at or above the cutoff: a reduction of at least 50%, the conventional response threshold of depression trials and of the published real-world ketamine cohorts",
		"SUSTAIN-3 (PHQ-9 response ≥ 50%); McInnes et al. 2022, J Affect Disord; Hull et al. 2022, J Affect Disord 314:59–67. The payer measures that use the same threshold (HEDIS DRR-E, NQF 1884) read it 4–8 or 6 months after an elevated PHQ-9, not at the end of an 8-week acute window"},
	{"Remission", "endpoint below 5 (PHQ-9, GAD-7) or below 33 (PCL-5)", "Kroenke et al. 2001 (PHQ-9 < 5: minimal symptoms); SUSTAIN-3; PCL-5: below the caseness cutoff (National Center for PTSD)"},
	{"Reliable change categories", "recovered, improved, unchanged, deteriorated", "Jacobson & Truax 1991, J Consult Clin Psychol 59:12–19"},
	{"Relapse", "after the first acute-window score at or below the response threshold, the first later score at or above the cutoff confirmed by the next one (a last score at or above the cutoff counts)",
		"project decision mirroring the two-consecutive-visit rules of esketamine maintenance trials (SUSTAIN-1, Daly et al. 2019; NCT04007367)"},
	{"Small-cell suppression", "counts 1–10 are not shown, with complementary suppression", "CMS cell-size suppression policy"},
}
