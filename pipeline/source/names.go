package source

// Common given names and surnames, for finding a name inside a patient id (hasPersonName).
// Given names: among the most frequent in the US Social Security Administration's lists of
// baby names, 1950–2000; surnames: among the most frequent in the US 2010 census, with a few
// of the most frequent in Germany, France, Italy, Spain and Portugal. Words of fewer than four
// letters are left out, and so are names that are also common English words or places
// (Mark, Grace, Will, King, Young, Brown, White, Austin, …), which a study code might hold.
var givenNames = setOf(
	"james", "john", "robert", "michael", "william", "david", "richard", "joseph", "thomas",
	"charles", "christopher", "daniel", "matthew", "anthony", "donald", "steven", "paul",
	"andrew", "joshua", "kenneth", "kevin", "brian", "george", "timothy", "ronald", "edward",
	"jason", "jeffrey", "ryan", "jacob", "gary", "nicholas", "eric", "jonathan", "stephen",
	"larry", "justin", "scott", "brandon", "benjamin", "samuel", "gregory", "alexander",
	"patrick", "raymond", "dennis", "jerry", "tyler", "aaron", "jose", "adam", "nathan",
	"henry", "douglas", "zachary", "peter", "kyle", "ethan", "walter", "noah", "jeremy",
	"keith", "terry", "gerald", "harold", "sean", "carl", "arthur", "lawrence", "dylan",
	"jesse", "bryan", "billy", "bruce", "gabriel", "logan", "albert", "willie", "alan", "juan",
	"wayne", "elijah", "vincent", "ralph", "eugene", "russell", "bobby", "philip", "louis",
	"mary", "patricia", "jennifer", "linda", "elizabeth", "barbara", "susan", "jessica",
	"sarah", "karen", "lisa", "nancy", "betty", "margaret", "sandra", "ashley", "kimberly",
	"emily", "donna", "michelle", "carol", "amanda", "dorothy", "melissa", "deborah",
	"stephanie", "rebecca", "sharon", "laura", "cynthia", "kathleen", "angela", "shirley",
	"anna", "brenda", "pamela", "emma", "nicole", "helen", "samantha", "katherine", "christine",
	"debra", "rachel", "carolyn", "janet", "catherine", "maria", "heather", "diane", "ruth",
	"julie", "olivia", "joyce", "kelly", "lauren", "christina", "joan", "evelyn", "judith",
	"megan", "andrea", "cheryl", "hannah", "jacqueline", "martha", "gloria", "teresa", "sara",
	"frances", "kathryn", "janice", "jean", "abigail", "alice", "judy", "sophia", "denise",
	"marie", "diana", "beverly", "isabella", "theresa", "natalie", "brittany", "marilyn",
	"kayla", "alexis", "lori", "jane", "anne",
)

var surnames = setOf(
	"smith", "johnson", "williams", "jones", "garcia", "miller", "davis", "rodriguez",
	"martinez", "hernandez", "lopez", "gonzalez", "wilson", "anderson", "thomas", "taylor",
	"moore", "jackson", "martin", "perez", "thompson", "harris", "sanchez", "clark", "ramirez",
	"lewis", "robinson", "walker", "allen", "wright", "scott", "torres", "nguyen", "flores",
	"adams", "nelson", "rivera", "campbell", "mitchell", "carter", "roberts", "gomez",
	"phillips", "evans", "turner", "diaz", "parker", "cruz", "edwards", "collins", "reyes",
	"stewart", "morris", "morales", "murphy", "rogers", "gutierrez", "ortiz", "morgan",
	"cooper", "peterson", "bailey", "reed", "kelly", "howard", "ramos", "richardson", "watson",
	"brooks", "chavez", "james", "bennett", "mendoza", "ruiz", "hughes", "alvarez", "castillo",
	"sanders", "patel", "myers", "ross", "foster", "jimenez", "powell", "jenkins", "perry",
	"russell", "sullivan", "coleman", "butler", "henderson", "barnes", "gonzales", "fisher",
	"vasquez", "simmons", "romero", "patterson", "alexander", "hamilton", "graham", "reynolds",
	"griffin", "wallace", "cole", "hayes", "bryant", "herrera", "gibson", "ellis", "tran",
	"medina", "aguilar", "stevens", "murray", "castro", "marshall", "owens", "harrison",
	"fernandez", "mcdonald", "kennedy", "wells", "vargas", "chen", "freeman", "webb", "tucker",
	"guzman", "burns", "crawford", "olson", "simpson", "porter", "gordon", "mendez", "silva",
	"shaw", "snyder", "mason", "dixon", "munoz", "hunt", "hicks", "holmes", "palmer", "wagner",
	"robertson", "boyd", "salazar", "warren", "meyer", "schmidt", "garza", "daniels",
	"ferguson", "nichols", "stephens", "soto", "weaver", "gardner", "payne", "dunn", "kelley",
	"spencer", "hawkins", "arnold", "pierce", "vazquez", "hansen", "peters", "santos",
	"bradley", "elliott", "cunningham", "duncan", "armstrong", "hudson", "carroll", "riley",
	"andrews", "alvarado", "delgado", "perkins", "hoffman", "johnston", "matthews", "pena",
	"richards", "contreras", "willis", "sandoval",
	"mueller", "muller", "schneider", "fischer", "weber", "becker", "schulz", "hoffmann",
	"bernard", "dubois", "durand", "leroy", "moreau", "rossi", "russo", "ferrari", "esposito",
	"bianchi", "romano", "oliveira", "souza", "pereira", "fernandes", "rodrigues",
)
