"""Word tables of the instruct tasks (``tasks/instruct.py``, ``tasks/instruct_many.py``).

Capitals: countries whose capital is undisputed and is not named after the country (an echo of the
prompt must not score: no Guinea-Bissau, Kuwait, Singapore, ...); ``CAPITAL_ALIASES`` lists other
accepted spellings. Categories: single words, in a fixed order (the ``easy`` / ``hard`` teachers of
``name_other`` are the first / last listed other member). Antonym pairs are read both ways.
"""
from __future__ import annotations

_CAPITALS = """
France=Paris|Germany=Berlin|Italy=Rome|Spain=Madrid|Japan=Tokyo|China=Beijing|Russia=Moscow|Egypt=Cairo|
Canada=Ottawa|Greece=Athens|Portugal=Lisbon|Austria=Vienna|Norway=Oslo|Sweden=Stockholm|Poland=Warsaw|
Ireland=Dublin|Kenya=Nairobi|Peru=Lima|Cuba=Havana|Thailand=Bangkok|Finland=Helsinki|Denmark=Copenhagen|
Hungary=Budapest|Argentina=Buenos Aires|Belgium=Brussels|Netherlands=Amsterdam|Turkey=Ankara|
India=New Delhi|South Korea=Seoul|Mexico=Mexico City|Chile=Santiago|Vietnam=Hanoi|Albania=Tirana|
Belarus=Minsk|Bosnia and Herzegovina=Sarajevo|Bulgaria=Sofia|Croatia=Zagreb|Cyprus=Nicosia|
Czech Republic=Prague|Estonia=Tallinn|Iceland=Reykjavik|Latvia=Riga|Lithuania=Vilnius|Malta=Valletta|
Moldova=Chisinau|Montenegro=Podgorica|North Macedonia=Skopje|Romania=Bucharest|Serbia=Belgrade|
Slovakia=Bratislava|Slovenia=Ljubljana|Switzerland=Bern|Ukraine=Kyiv|United Kingdom=London|
Liechtenstein=Vaduz|Georgia=Tbilisi|Armenia=Yerevan|Azerbaijan=Baku|Afghanistan=Kabul|Bangladesh=Dhaka|
Bhutan=Thimphu|Cambodia=Phnom Penh|Indonesia=Jakarta|Iran=Tehran|Iraq=Baghdad|Jordan=Amman|
Kazakhstan=Astana|Kyrgyzstan=Bishkek|Laos=Vientiane|Lebanon=Beirut|Malaysia=Kuala Lumpur|
Mongolia=Ulaanbaatar|Myanmar=Naypyidaw|Nepal=Kathmandu|North Korea=Pyongyang|Oman=Muscat|Pakistan=Islamabad|
Philippines=Manila|Qatar=Doha|Saudi Arabia=Riyadh|Syria=Damascus|Tajikistan=Dushanbe|Turkmenistan=Ashgabat|
United Arab Emirates=Abu Dhabi|Uzbekistan=Tashkent|Yemen=Sanaa|Bahrain=Manama|East Timor=Dili|
Brunei=Bandar Seri Begawan|Algeria=Algiers|Angola=Luanda|Botswana=Gaborone|Burkina Faso=Ouagadougou|
Cameroon=Yaounde|Cape Verde=Praia|Central African Republic=Bangui|Chad=N'Djamena|Comoros=Moroni|
Democratic Republic of the Congo=Kinshasa|Republic of the Congo=Brazzaville|Equatorial Guinea=Malabo|
Eritrea=Asmara|Ethiopia=Addis Ababa|Gabon=Libreville|Gambia=Banjul|Ghana=Accra|Guinea=Conakry|
Lesotho=Maseru|Liberia=Monrovia|Libya=Tripoli|Madagascar=Antananarivo|Malawi=Lilongwe|Mali=Bamako|
Mauritania=Nouakchott|Mauritius=Port Louis|Morocco=Rabat|Mozambique=Maputo|Namibia=Windhoek|Niger=Niamey|
Nigeria=Abuja|Rwanda=Kigali|Senegal=Dakar|Sierra Leone=Freetown|Somalia=Mogadishu|South Sudan=Juba|
Sudan=Khartoum|Tanzania=Dodoma|Togo=Lome|Tunisia=Tunis|Uganda=Kampala|Zambia=Lusaka|Zimbabwe=Harare|
Seychelles=Victoria|Bahamas=Nassau|Barbados=Bridgetown|Belize=Belmopan|Brazil=Brasilia|Colombia=Bogota|
Costa Rica=San Jose|Dominican Republic=Santo Domingo|Ecuador=Quito|El Salvador=San Salvador|
Guyana=Georgetown|Haiti=Port-au-Prince|Honduras=Tegucigalpa|Jamaica=Kingston|Nicaragua=Managua|
Paraguay=Asuncion|Suriname=Paramaribo|Trinidad and Tobago=Port of Spain|United States=Washington|
Uruguay=Montevideo|Venezuela=Caracas|Australia=Canberra|New Zealand=Wellington|Fiji=Suva|
Papua New Guinea=Port Moresby|Samoa=Apia|Tonga=Nuku'alofa|Vanuatu=Port Vila|Solomon Islands=Honiara"""
CAPITALS = dict(item.split("=") for item in _CAPITALS.strip().replace("\n", "").split("|"))
CAPITAL_ALIASES = {"Kyiv": ["Kiev"], "Ulaanbaatar": ["Ulan Bator"], "Naypyidaw": ["Nay Pyi Taw", "Naypyitaw"],
                   "Astana": ["Nur-Sultan"], "Bern": ["Berne"], "Washington": ["Washington D.C."],
                   "Sanaa": ["Sana"]}

CATEGORIES = {
    "fruit": "apple banana orange grape mango pear peach cherry lemon lime plum kiwi melon watermelon "
             "strawberry blueberry raspberry pineapple apricot coconut papaya fig grapefruit avocado".split(),
    "animal": "dog cat horse cow pig sheep goat lion tiger bear wolf fox rabbit deer elephant giraffe zebra "
              "monkey mouse snake frog eagle owl duck dolphin whale shark camel kangaroo panda penguin".split(),
    "colour": "red blue green yellow orange purple pink brown black white gray grey violet gold silver".split(),
    "vegetable": "carrot potato tomato onion cabbage lettuce spinach broccoli cucumber pea bean corn pumpkin "
                 "garlic celery pepper radish beetroot turnip cauliflower".split(),
    "sport": "football soccer tennis golf cricket rugby basketball baseball hockey volleyball swimming boxing "
             "cycling running skiing badminton wrestling rowing surfing archery".split(),
    "musical instrument": "piano guitar violin drum flute trumpet cello harp saxophone clarinet trombone banjo "
                          "ukulele accordion oboe harmonica tuba viola".split(),
    "vehicle": "car bus train truck bicycle bike motorcycle boat ship plane airplane helicopter taxi tram van "
               "scooter tractor submarine".split(),
    "body part": "hand foot arm leg head nose eye ear mouth finger toe knee elbow shoulder neck chest back "
                 "tooth tongue lip".split(),
}

_ANTONYMS = """hot cold|big small|big little|large small|tall short|long short|fast slow|quick slow|happy sad|
old new|old young|up down|left right|light dark|light heavy|day night|good bad|rich poor|hard soft|hard easy|
open closed|open shut|wet dry|early late|thick thin|strong weak|full empty|loud quiet|clean dirty|high low|
in out|inside outside|first last|black white|love hate|win lose|push pull|buy sell|give take|top bottom|
front back|true false|yes no|alive dead|north south|east west|wide narrow|deep shallow|cheap expensive|
near far|before after|always never|begin end|start finish|start end|question answer|friend enemy|sweet sour|
sweet bitter|smooth rough|brave cowardly|beautiful ugly|summer winter|boy girl|man woman|king queen|
laugh cry|arrive leave|arrive depart|accept reject|increase decrease|maximum minimum|positive negative|
success failure|victory defeat|war peace|safe dangerous|polite rude|remember forget|sharp blunt|sharp dull|
simple complex|simple complicated|tight loose|awake asleep|entrance exit|import export|major minor|
noisy quiet|public private|rise fall|floor ceiling|above below|over under|borrow lend|come go|float sink|
fresh stale|guilty innocent|healthy sick|heaven hell|include exclude|inner outer|junior senior|kind cruel|
legal illegal|more less|many few|most least|odd even|often rarely|optimist pessimist|present absent|
fat thin|soft loud|mother father|brother sister|son daughter|husband wife|uncle aunt|sunrise sunset|
ancient modern|visible invisible|correct incorrect|correct wrong|right wrong|possible impossible|
happy unhappy|patient impatient|frozen melted|wild tame|vertical horizontal|rural urban|future past|
dawn dusk|attack defend|teacher student|empty full|
morning evening|asleep awake|sunny cloudy|ceiling floor|giant dwarf|wise foolish|
difficult easy|dark bright|bright dim|male female|plus minus|multiply divide|add subtract|send receive|
lost found|shout whisper|ask answer|cool warm|freeze melt|hero villain|lead follow|
even uneven"""
ANTONYMS: dict[str, list[str]] = {}
for _pair in _ANTONYMS.replace("\n", "").split("|"):
    _a, _b = _pair.split()
    for _x, _y in ((_a, _b), (_b, _a)):
        if _y not in ANTONYMS.setdefault(_x, []):
            ANTONYMS[_x].append(_y)
