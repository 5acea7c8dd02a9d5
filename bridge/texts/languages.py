"""What the bridge tells a customer who writes in another language, in that language (issue 15:
every customer is told in their own language that a person will answer, not only in English)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LanguageTexts:
    name: str  # English name, for staff ("Russian")
    native: str  # the language's own name ("русский")
    to_person: str  # the customer asked for a person
    not_answered: str  # the assistant cannot answer in this language
    after_hours: str  # nobody from the team is there right now (no times in it)


LANGUAGES: dict[str, LanguageTexts] = {
    "en": LanguageTexts(
        name="English",
        native="English",
        to_person=(
            "I'm connecting you with a person from our team. They will answer here, in this chat."
        ),
        not_answered=(
            "Our assistant only answers in English, so I've passed your message to a person from "
            "our team. They will answer here, in this chat; you can keep writing in your language."
        ),
        after_hours="Our team is away right now; they will reply here when they are back.",
    ),
    "zh": LanguageTexts(
        name="Chinese",
        native="中文",
        to_person="正在为您转接我们团队的工作人员，对方会在此对话中直接回复您。",
        not_answered=(
            "我们的智能助手只能用英语回答，所以我已将您的消息转给我们团队的工作人员。"
            "对方会在此对话中回复您，您可以继续用中文留言。"
        ),
        after_hours="我们的团队目前不在线，回来后会在此对话中回复您。",
    ),
    "es": LanguageTexts(
        name="Spanish",
        native="español",
        to_person=(
            "Le estoy comunicando con una persona de nuestro equipo. Le responderá aquí, "
            "en este chat."
        ),
        not_answered=(
            "Nuestro asistente solo responde en inglés, así que he pasado su mensaje a una persona "
            "de nuestro equipo. Le responderá aquí, en este chat; puede seguir escribiendo en "
            "español."
        ),
        after_hours=(
            "Nuestro equipo no está disponible en este momento; le responderá aquí en cuanto "
            "vuelva."
        ),
    ),
    "ar": LanguageTexts(
        name="Arabic",
        native="العربية",
        to_person="سأقوم بتحويلك إلى أحد أفراد فريقنا، وسيرد عليك هنا في هذه المحادثة.",
        not_answered=(
            "مساعدنا الآلي يجيب باللغة الإنجليزية فقط، لذلك أحلت رسالتك إلى أحد أفراد فريقنا. "
            "سيرد عليك هنا في هذه المحادثة، ويمكنك متابعة الكتابة باللغة العربية."
        ),
        after_hours="فريقنا غير متاح حاليًا، وسيرد عليك هنا فور عودته.",
    ),
    "pt": LanguageTexts(
        name="Portuguese",
        native="português",
        to_person=(
            "Vou passar a sua conversa para uma pessoa da nossa equipe. A resposta virá aqui "
            "mesmo, neste chat."
        ),
        not_answered=(
            "Nosso assistente só responde em inglês, por isso encaminhei a sua mensagem para uma "
            "pessoa da nossa equipe. A resposta virá aqui mesmo, neste chat; pode continuar "
            "escrevendo em português."
        ),
        after_hours=(
            "Nossa equipe não está disponível agora; vamos responder aqui assim que voltarmos."
        ),
    ),
    "id": LanguageTexts(
        name="Indonesian",
        native="Bahasa Indonesia",
        to_person=(
            "Saya sedang menghubungkan Anda dengan salah satu anggota tim kami, yang akan "
            "membalas di sini, di obrolan ini."
        ),
        not_answered=(
            "Asisten kami hanya dapat menjawab dalam bahasa Inggris, jadi pesan Anda sudah saya "
            "teruskan kepada salah satu anggota tim kami. Balasannya akan muncul di sini, di "
            "obrolan ini; Anda tetap bisa menulis dalam bahasa Indonesia."
        ),
        after_hours=(
            "Tim kami sedang tidak tersedia saat ini; kami akan membalas di sini setelah kembali."
        ),
    ),
    "fr": LanguageTexts(
        name="French",
        native="français",
        to_person=(
            "Je vous mets en relation avec une personne de notre équipe. Elle vous répondra ici, "
            "dans cette conversation."
        ),
        not_answered=(
            "Notre assistant ne répond qu'en anglais, j'ai donc transmis votre message à une "
            "personne de notre équipe. Elle vous répondra ici, dans cette conversation. Vous "
            "pouvez continuer à écrire en français."
        ),
        after_hours=(
            "Notre équipe n'est pas disponible pour le moment. Elle vous répondra ici dès son "
            "retour."
        ),
    ),
    "ja": LanguageTexts(
        name="Japanese",
        native="日本語",
        to_person="当店のスタッフにおつなぎします。このチャットでスタッフがご返信いたします。",
        not_answered=(
            "申し訳ございません。自動アシスタントは英語でのみ対応しているため、"
            "お客様のメッセージを当店のスタッフに引き継ぎました。"
            "このチャットでご返信いたしますので、引き続き日本語でご入力いただけます。"
        ),
        after_hours=(
            "ただいまスタッフが不在にしております。戻り次第、このチャットでご返信いたします。"
        ),
    ),
    "ru": LanguageTexts(
        name="Russian",
        native="русский",
        to_person="Соединяю Вас с сотрудником нашей команды. Ответ придёт сюда, в этот чат.",
        not_answered=(
            "Наш ассистент отвечает только на английском языке, поэтому Ваше сообщение передано "
            "сотруднику нашей команды. Ответ придёт сюда, в этот чат; Вы можете и дальше писать "
            "по-русски."
        ),
        after_hours="Сейчас наша команда не на связи; мы ответим здесь, как только вернёмся.",
    ),
    "de": LanguageTexts(
        name="German",
        native="Deutsch",
        to_person=(
            "Ich verbinde Sie mit einem Mitglied unseres Teams. Die Antwort erhalten Sie hier "
            "in diesem Chat."
        ),
        not_answered=(
            "Unser Assistent antwortet nur auf Englisch, deshalb habe ich Ihre Nachricht an ein "
            "Mitglied unseres Teams weitergegeben. Die Antwort erhalten Sie hier in diesem Chat; "
            "Sie können gern weiter auf Deutsch schreiben."
        ),
        after_hours=(
            "Unser Team ist gerade nicht erreichbar; wir antworten Ihnen hier, sobald wir wieder "
            "da sind."
        ),
    ),
    "hi": LanguageTexts(
        name="Hindi",
        native="हिन्दी",
        to_person="आपको हमारी टीम के एक सदस्य से जोड़ा जा रहा है। वे आपको यहीं, इसी चैट में जवाब देंगे।",
        not_answered=(
            "हमारा असिस्टेंट केवल अंग्रेज़ी में जवाब देता है, इसलिए आपका संदेश हमारी टीम के एक "
            "सदस्य को भेज दिया गया है। वे आपको यहीं, इसी चैट में जवाब देंगे; आप हिन्दी में "
            "लिखना जारी रख सकते हैं।"
        ),
        after_hours="हमारी टीम अभी उपलब्ध नहीं है; लौटने पर वे आपको यहीं जवाब देंगे।",
    ),
    "ko": LanguageTexts(
        name="Korean",
        native="한국어",
        to_person="저희 팀 직원에게 연결해 드리겠습니다. 답변은 이 채팅으로 드립니다.",
        not_answered=(
            "저희 어시스턴트는 영어로만 답변할 수 있어 고객님의 메시지를 저희 팀 직원에게 "
            "전달했습니다. 답변은 이 채팅으로 드리며, 계속 한국어로 작성하셔도 됩니다."
        ),
        after_hours=(
            "지금은 저희 팀이 자리에 없습니다. 돌아오는 대로 이 채팅으로 답변드리겠습니다."
        ),
    ),
    "tr": LanguageTexts(
        name="Turkish",
        native="Türkçe",
        to_person=(
            "Sizi ekibimizden bir temsilciye bağlıyorum. Size burada, bu sohbette yanıt verecek."
        ),
        not_answered=(
            "Asistanımız yalnızca İngilizce yanıt verebiliyor; bu yüzden mesajınızı ekibimizden "
            "bir temsilciye ilettim. Size burada, bu sohbette yanıt verecek; Türkçe yazmaya "
            "devam edebilirsiniz."
        ),
        after_hours="Ekibimiz şu anda müsait değil; döndüklerinde size buradan yanıt verecekler.",
    ),
    "it": LanguageTexts(
        name="Italian",
        native="italiano",
        to_person=(
            "La sto mettendo in contatto con una persona del nostro team, che le risponderà qui, "
            "in questa chat."
        ),
        not_answered=(
            "Il nostro assistente risponde solo in inglese, quindi ho inoltrato il suo messaggio "
            "a una persona del nostro team. Le risponderà qui, in questa chat; può continuare a "
            "scrivere in italiano."
        ),
        after_hours=(
            "Il nostro team in questo momento non è disponibile; le risponderemo qui non appena "
            "saremo di ritorno."
        ),
    ),
    "vi": LanguageTexts(
        name="Vietnamese",
        native="Tiếng Việt",
        to_person=(
            "Tôi đang kết nối quý khách với một nhân viên của chúng tôi. Nhân viên sẽ trả lời "
            "quý khách ngay tại cuộc trò chuyện này."
        ),
        not_answered=(
            "Trợ lý tự động của chúng tôi chỉ trả lời bằng tiếng Anh, vì vậy tôi đã chuyển tin "
            "nhắn của quý khách đến một nhân viên của chúng tôi. Nhân viên sẽ trả lời ngay tại "
            "cuộc trò chuyện này; quý khách có thể tiếp tục viết bằng tiếng Việt."
        ),
        after_hours=(
            "Hiện đội ngũ của chúng tôi đang vắng mặt; chúng tôi sẽ trả lời quý khách tại đây "
            "khi quay lại."
        ),
    ),
    "pl": LanguageTexts(
        name="Polish",
        native="polski",
        to_person=(
            "Przekazuję rozmowę osobie z naszego zespołu. Odpowiedź pojawi się tutaj, na tym "
            "czacie."
        ),
        not_answered=(
            "Nasz asystent odpowiada tylko po angielsku, dlatego wiadomość została przekazana "
            "osobie z naszego zespołu. Odpowiedź pojawi się tutaj, na tym czacie; można śmiało "
            "pisać dalej po polsku."
        ),
        after_hours="Nasz zespół jest teraz niedostępny; odpowiemy tutaj, gdy tylko wrócimy.",
    ),
    "nl": LanguageTexts(
        name="Dutch",
        native="Nederlands",
        to_person="Ik verbind u door met iemand van ons team. U krijgt hier in deze chat antwoord.",
        not_answered=(
            "Onze assistent antwoordt alleen in het Engels, dus ik heb uw bericht doorgestuurd "
            "naar iemand van ons team. U krijgt hier in deze chat antwoord; u kunt gewoon in het "
            "Nederlands blijven schrijven."
        ),
        after_hours=(
            "Ons team is op dit moment niet bereikbaar; we antwoorden hier zodra we terug zijn."
        ),
    ),
    "th": LanguageTexts(
        name="Thai",
        native="ไทย",
        to_person="กำลังเชื่อมต่อคุณกับเจ้าหน้าที่ของเรา เจ้าหน้าที่จะตอบกลับคุณที่นี่ในแชทนี้",
        not_answered=(
            "ผู้ช่วยอัตโนมัติของเราตอบได้เฉพาะภาษาอังกฤษ "
            "จึงได้ส่งข้อความของคุณต่อให้เจ้าหน้าที่ของเราแล้ว "
            "เจ้าหน้าที่จะตอบกลับคุณที่นี่ในแชทนี้ คุณสามารถพิมพ์เป็นภาษาไทยต่อได้เลย"
        ),
        after_hours="ขณะนี้ทีมงานของเราไม่อยู่ เมื่อกลับมาแล้วจะตอบกลับคุณที่นี่",
    ),
    "fa": LanguageTexts(
        name="Persian",
        native="فارسی",
        to_person=(
            "شما را به یکی از همکاران تیممان وصل می‌کنم. پاسخ را همین‌جا، در همین گفتگو "
            "دریافت خواهید کرد."
        ),
        not_answered=(
            "دستیار ما فقط به انگلیسی پاسخ می‌دهد، به همین دلیل پیام شما را برای یکی از همکاران "
            "تیممان فرستادم. پاسخ را همین‌جا، در همین گفتگو دریافت خواهید کرد و می‌توانید "
            "همچنان به فارسی بنویسید."
        ),
        after_hours=(
            "تیم ما در حال حاضر در دسترس نیست؛ به محض بازگشت، همین‌جا به شما پاسخ خواهند داد."
        ),
    ),
    "uk": LanguageTexts(
        name="Ukrainian",
        native="українська",
        to_person="З'єдную Вас із працівником нашої команди. Відповідь надійде сюди, у цей чат.",
        not_answered=(
            "Наш асистент відповідає лише англійською, тому Ваше повідомлення передано "
            "працівникові нашої команди. Відповідь надійде сюди, у цей чат; Ви можете й далі "
            "писати українською."
        ),
        after_hours="Зараз наша команда не на зв'язку; ми відповімо тут, щойно повернемося.",
    ),
    "sv": LanguageTexts(
        name="Swedish",
        native="svenska",
        to_person="Jag kopplar dig till en person i vårt team. Du får svar här i chatten.",
        not_answered=(
            "Vår assistent svarar bara på engelska, så jag har skickat ditt meddelande vidare "
            "till en person i vårt team. Du får svar här i chatten, och du kan fortsätta skriva "
            "på svenska."
        ),
        after_hours=(
            "Vårt team är inte tillgängligt just nu; vi svarar här så snart vi är tillbaka."
        ),
    ),
    "ms": LanguageTexts(
        name="Malay",
        native="Bahasa Melayu",
        to_person=(
            "Saya sedang menghubungkan anda dengan salah seorang ahli pasukan kami, yang akan "
            "membalas di sini, dalam perbualan ini."
        ),
        not_answered=(
            "Pembantu maya kami hanya menjawab dalam bahasa Inggeris, jadi saya telah "
            "memanjangkan mesej anda kepada salah seorang ahli pasukan kami. Balasan akan "
            "diberikan di sini, dalam perbualan ini; anda boleh terus menulis dalam bahasa Melayu."
        ),
        after_hours=(
            "Pasukan kami tiada buat masa ini; mereka akan membalas di sini sebaik sahaja kembali."
        ),
    ),
}


def _base_code(code: str) -> str:
    """Region and case dropped: "pt-BR", "pt_br" and " PT " are all "pt"."""
    return code.strip().lower().replace("_", "-").split("-", 1)[0]


def texts_for(code: str) -> LanguageTexts | None:
    """The texts for a language code (ISO 639-1, region ignored); None for one not listed."""
    return LANGUAGES.get(_base_code(code))


def language_name(code: str) -> str:
    """The English name of a language, for staff; the code itself, upper case, if unknown."""
    texts = texts_for(code)
    return texts.name if texts is not None else code.strip().upper()
